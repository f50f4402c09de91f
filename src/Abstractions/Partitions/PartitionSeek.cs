namespace OrleansKafka.Partitions;

/// <summary>Offsets with a meaning for <see cref="IPartitionGrain.SeekAsync"/> (Kafka's own values for them).</summary>
public static class PartitionSeek
{
    /// <summary>The oldest record Kafka still holds (the low watermark).</summary>
    public const long Beginning = -2;

    /// <summary>After the newest record (the high watermark): only records produced from now on are processed.</summary>
    public const long End = -1;

    /// <summary>Reads an operator's target: a non-negative offset, <c>beginning</c> or <c>end</c> (any case).</summary>
    public static bool TryParse(string? text, out long offset)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "beginning":
                offset = Beginning;
                return true;
            case "end":
                offset = End;
                return true;
            case var number:
                return long.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset);
        }
    }
}
