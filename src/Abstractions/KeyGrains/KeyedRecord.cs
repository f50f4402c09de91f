namespace OrleansKafka.KeyGrains;

/// <summary>Where a record sent to a key grain comes from, and under which lease it was sent.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.KeyedRecord")]
public abstract class KeyedRecord
{
    /// <summary>The key grain's key: the record's key as UTF-8 text, or <c>&lt;topic&gt;/&lt;partition&gt;</c> for a record without a key.</summary>
    [Id(0)] public required string Key { get; init; }

    /// <summary>The consumer group the record is processed for.</summary>
    [Id(1)] public required string ConsumerGroup { get; init; }

    /// <summary>The topic.</summary>
    [Id(2)] public required string Topic { get; init; }

    /// <summary>The partition.</summary>
    [Id(3)] public required int Partition { get; init; }

    /// <summary>The record's offset.</summary>
    [Id(4)] public required long Offset { get; init; }

    /// <summary>The record's timestamp.</summary>
    [Id(5)] public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The record's headers, in order (empty when it has none).</summary>
    [Id(6)] public required IReadOnlyList<KafkaHeader> Headers { get; init; }

    /// <summary>The epoch of the lease under which the partition's owner sent the record; it only grows.</summary>
    [Id(7)] public required long LeaseEpoch { get; init; }

    /// <summary>The source partition, <c>&lt;group&gt;/&lt;topic&gt;/&lt;partition&gt;</c>: what epochs and applied offsets are kept per.</summary>
    public string Source => $"{ConsumerGroup}/{Topic}/{Partition}";
}

/// <summary>A record sent to the key grain of its key, with its deserialized value.</summary>
/// <typeparam name="TValue">The value type (byte[], string, or a JSON-deserialized type).</typeparam>
[GenerateSerializer, Immutable, Alias("OrleansKafka.KeyedRecord`1")]
public sealed class KeyedRecord<TValue> : KeyedRecord
{
    /// <summary>The deserialized value (default for a tombstone).</summary>
    [Id(0)] public TValue? Value { get; init; }
}
