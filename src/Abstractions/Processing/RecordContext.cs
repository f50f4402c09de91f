using Confluent.Kafka;

namespace OrleansKafka.Processing;

/// <summary>Where a record came from and under which lease it is being processed.</summary>
public readonly struct RecordContext
{
    /// <summary>Creates a context.</summary>
    public RecordContext(string consumerGroup, string topic, int partition, long offset, Timestamp timestamp, Headers? headers, long leaseEpoch)
    {
        ConsumerGroup = consumerGroup;
        Topic = topic;
        Partition = partition;
        Offset = offset;
        Timestamp = timestamp;
        Headers = headers;
        LeaseEpoch = leaseEpoch;
    }

    /// <summary>The consumer group the record is processed for; offsets are committed under it.</summary>
    public string ConsumerGroup { get; }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The partition.</summary>
    public int Partition { get; }

    /// <summary>The record's offset.</summary>
    public long Offset { get; }

    /// <summary>The record's timestamp.</summary>
    public Timestamp Timestamp { get; }

    /// <summary>The record's headers (null when it has none).</summary>
    public Headers? Headers { get; }

    /// <summary>The epoch of the lease under which this silo owns the partition; it only grows.</summary>
    public long LeaseEpoch { get; }
}
