namespace OrleansKafka.Partitions;

/// <summary>Offsets with a meaning for <see cref="IPartitionGrain.SeekAsync"/> (Kafka's own values for them).</summary>
public static class PartitionSeek
{
    /// <summary>The oldest record Kafka still holds (the low watermark).</summary>
    public const long Beginning = -2;

    /// <summary>After the newest record (the high watermark): only records produced from now on are processed.</summary>
    public const long End = -1;
}
