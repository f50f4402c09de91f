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

    /// <summary>
    /// An operator's decision about the record the partition holds: retry, skip or dead-letter
    /// it. Skip and dead-letter are committed before processing goes on, so they hold across a
    /// move to another silo.
    /// </summary>
    /// <exception cref="InvalidOperationException">The partition is not holding a record on this silo.</exception>
    [AlwaysInterleave]
    Task ResolveHoldAsync(HoldDecision decision);
}
