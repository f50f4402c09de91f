using System.Text;
using Confluent.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.KeyGrains;

/// <summary>What key grains and Kafka streams share: the record a grain receives, and the chain it waits in.</summary>
internal static class KeyedRecordFactory
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The record with its value deserialized; its key text, or <c>&lt;topic&gt;/&lt;partition&gt;</c> without a key.</summary>
    /// <exception cref="UnprocessableRecordException">The value does not deserialize, or the key is not UTF-8 text.</exception>
    public static KeyedRecord<TValue> Create<TValue>(ConsumeResult<byte[], byte[]> result, RecordDecoder<TValue> values, string group, long epoch, string receiver)
    {
        var message = result.Message;
        return new KeyedRecord<TValue>
        {
            Key = KeyOf(result, receiver),
            Value = RecordFactory.Value(result, values),
            ConsumerGroup = group,
            Topic = result.Topic,
            Partition = result.Partition.Value,
            Offset = result.Offset.Value,
            Timestamp = message.Timestamp.UtcDateTime,
            Headers = message.Headers is { Count: > 0 } headers ? [.. headers.Select(h => new KafkaHeader(h.Key, h.GetValueBytes()))] : [],
            LeaseEpoch = epoch,
        };
    }

    /// <summary>
    /// The chain of a record sent to a grain: the grain's key, so that records that name one grain
    /// wait for each other (a keyless record shares the chain of the key <c>&lt;topic&gt;/&lt;partition&gt;</c>).
    /// A key that names no grain gets a chain of its own; it fails when it runs.
    /// </summary>
    public static string ChainOf(ConsumeResult<byte[], byte[]> result, bool integerKeys)
    {
        if (result.Message.Key is not { } key)
        {
            return $"{result.Topic}/{result.Partition.Value}";
        }

        if (TextOf(key) is not { } text)
        {
            return "\0" + Convert.ToBase64String(key);
        }

        if (!integerKeys)
        {
            return text;
        }

        return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "\0" + text;
    }

    private static string KeyOf(ConsumeResult<byte[], byte[]> result, string receiver)
    {
        if (result.Message.Key is not { } key)
        {
            return $"{result.Topic}/{result.Partition.Value}";
        }

        return TextOf(key)
            ?? throw new UnprocessableRecordException($"The key of {result.Topic}/{result.Partition.Value} offset {result.Offset.Value} is not UTF-8 text, so it names no {receiver}.");
    }

    /// <summary>The key as UTF-8 text; null when it is not valid UTF-8.</summary>
    private static string? TextOf(byte[] key)
    {
        try
        {
            return StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
