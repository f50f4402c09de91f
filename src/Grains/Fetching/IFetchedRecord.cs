using Confluent.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// A fetched record as <see cref="RecordBuffer"/> copies it in: its fields and bytes, wherever
/// they live. The fetch workers read records straight from librdkafka's messages
/// (<see cref="LibrdkafkaRecord"/>), so no client object is made for a record until its grain
/// processes it.
/// </summary>
/// <remarks>Implemented by structs, so that the buffer's generic copy is compiled for each and nothing is boxed.</remarks>
internal interface IFetchedRecord
{
    long Offset { get; }

    long TimestampMs { get; }

    TimestampType TimestampType { get; }

    /// <summary>False for a null key (as opposed to an empty one).</summary>
    bool HasKey { get; }

    ReadOnlySpan<byte> Key { get; }

    /// <summary>False for a null value, a tombstone (as opposed to an empty one).</summary>
    bool HasValue { get; }

    ReadOnlySpan<byte> Value { get; }

    /// <summary>The number of headers (0 for a record without any, as Confluent.Kafka reads them); <see cref="RecordBuffer.Absent"/> only from callers that have no header list at all.</summary>
    int HeaderCount { get; }

    /// <summary>The header at <paramref name="index"/>: its name in UTF-8, and its value (<paramref name="hasValue"/> false for a null one).</summary>
    void Header(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out bool hasValue);
}
