namespace OrleansKafka.LeaseProtocol;

/// <summary>A lease on one partition: the epoch under which its owner processes and commits.</summary>
/// <param name="Topic">The partition's topic.</param>
/// <param name="Partition">The partition's number.</param>
/// <param name="Epoch">The lease's epoch; only grows.</param>
/// <param name="Offset">
/// In a release: the offset committed when the partition was given up. In a new grant: that
/// offset handed over from the release, where the new owner starts without asking Kafka. -1
/// when unknown (the new owner reads the committed offset).
/// </param>
/// <param name="Reason">In a new grant: why the partition changed hands (for its ownership history).</param>
/// <param name="Detail">In a grant of a rebalance by load: the figures that made it (for its ownership history).</param>
[GenerateSerializer, Immutable, Alias("OrleansKafka.LeaseGrant")]
internal readonly record struct LeaseGrant(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Epoch,
    [property: Id(3)] long Offset = -1,
    [property: Id(4)] OrleansKafka.Partitions.OwnershipReason Reason = OrleansKafka.Partitions.OwnershipReason.Start,
    [property: Id(5)] string? Detail = null);
