using Orleans.Concurrency;

namespace OrleansKafka.Partitions;

/// <summary>
/// The grain that owns one Kafka partition for one consumer group. Its key is
/// <c>group/topic/partition</c> (see <see cref="PartitionGrainKey"/>).
/// </summary>
[Alias("OrleansKafka.IPartitionGrain")]
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>The live state of the partition: owner, offsets, lag, in-flight record, last error.</summary>
    [AlwaysInterleave]
    Task<PartitionStatus> GetStatusAsync();
}
