using Confluent.Kafka;

namespace OrleansKafka.Partitions;

/// <summary>
/// Consecutive records of one partition handed from the fetch path to the partition grain.
/// Passed by reference within the silo (never copied), so a delivery costs the same whatever its size.
/// </summary>
/// <remarks>
/// It holds librdkafka's results as they are, to allocate nothing per record. It is never
/// serialized: the fetch path only delivers to partition grains of leases its own silo holds,
/// and the placement director puts those grains on that silo.
/// </remarks>
[Immutable]
internal sealed class PartitionDelivery(List<ConsumeResult<byte[], byte[]>> records, long epoch)
{
    public IReadOnlyList<ConsumeResult<byte[], byte[]>> Records { get; } = records;

    /// <summary>The lease epoch under which the records were fetched.</summary>
    public long Epoch { get; } = epoch;
}
