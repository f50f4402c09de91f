using System.Text;

namespace OrleansKafka.Processing.Failures;

/// <summary>A short, printable preview of a key or value, for status and logs.</summary>
internal static class RecordPreview
{
    private const int MaxChars = 120;
    private const int MaxHexBytes = 48;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>UTF-8 text cut to 120 characters, or hex when the bytes are not text; <c>(null)</c> for none.</summary>
    public static string Of(byte[]? data)
    {
        if (data is null)
        {
            return "(null)";
        }

        try
        {
            var text = StrictUtf8.GetString(data, 0, Math.Min(data.Length, MaxChars * 4));
            if (!text.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
            {
                return text.Length > MaxChars ? string.Concat(text.AsSpan(0, MaxChars), "…") : text;
            }
        }
        catch (DecoderFallbackException)
        {
            // Not text (or cut inside a character): shown as hex below.
        }

        var hex = Convert.ToHexString(data, 0, Math.Min(data.Length, MaxHexBytes));
        return $"0x{hex}{(data.Length > MaxHexBytes ? "…" : string.Empty)} ({data.Length} bytes)";
    }
}
