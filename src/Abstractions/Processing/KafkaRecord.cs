namespace OrleansKafka.Processing;

/// <summary>A deserialized Kafka record handed to a processor.</summary>
/// <remarks>A value type, so that handing a record to a processor allocates nothing.</remarks>
public readonly struct KafkaRecord<TKey, TValue>
{
    /// <summary>Creates a record.</summary>
    public KafkaRecord(TKey key, TValue value, RecordContext context)
    {
        Key = key;
        Value = value;
        Context = context;
    }

    /// <summary>The deserialized key (default when the record has none).</summary>
    public TKey Key { get; }

    /// <summary>The deserialized value (default for a tombstone).</summary>
    public TValue Value { get; }

    /// <summary>Where the record came from and under which lease it is processed.</summary>
    public RecordContext Context { get; }
}
