using Confluent.Kafka;

namespace OrleansKafka.Delivery;

/// <summary>
/// Consecutive records of one partition handed from the fetch path to the partition grain.
/// Passed by reference within the silo (never copied), so a delivery costs the same whatever its size.
/// </summary>
/// <remarks>
/// Its records are packed as the fetch path took them (<see cref="Fetching.PackedRecords"/>), built
/// into the client's objects one at a time as the grain reads them. It is serialized
/// only when a call reaches a stale activation on another silo (see <see cref="PartitionDeliverySurrogate"/>).
/// </remarks>
[Immutable]
internal sealed class PartitionDelivery(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, long epoch, Orleans.Runtime.SiloAddress? from)
{
    public IReadOnlyList<ConsumeResult<byte[], byte[]>> Records { get; } = records;

    /// <summary>The lease epoch under which the records were fetched.</summary>
    public long Epoch { get; } = epoch;

    /// <summary>The silo whose fetch path sent the delivery: the lease holder.</summary>
    public Orleans.Runtime.SiloAddress? From { get; } = from;
}
