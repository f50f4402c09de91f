using OrleansKafka.Leases;
using OrleansKafka.Partitions;

namespace OrleansKafka.Tests.Partitions;

/// <summary>The lease agents' seam, noting the restarts the grain's parts ask for.</summary>
internal sealed class RecordingHolders : ILeaseHolders
{
    public List<(LocalLease Lease, OwnershipReason Reason)> Restarts { get; } = [];

    public bool Holds(string grainKey) => true;

    public bool Restart(LocalLease lease, OwnershipReason reason)
    {
        Restarts.Add((lease, reason));
        return true;
    }
}
