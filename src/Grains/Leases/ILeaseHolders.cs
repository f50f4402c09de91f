using OrleansKafka.Partitions;

namespace OrleansKafka.Leases;

/// <summary>
/// What the silo's lease agents offer the code that runs under their leases (the partition
/// grains): whether a partition's feed runs here, and giving a partition up on its own initiative.
/// </summary>
internal interface ILeaseHolders
{
    /// <summary>Whether this silo runs a feed of the partition that is not being given up.</summary>
    bool Holds(string grainKey);

    /// <summary>
    /// Gives <paramref name="lease"/> up (drained and released as for a revoke), with
    /// <paramref name="reason"/> for the next grant, which starts the next owner (perhaps this
    /// silo again) at the committed offset. False when this silo runs no feed under that lease.
    /// </summary>
    bool Restart(LocalLease lease, OwnershipReason reason);
}
