using Orleans.Concurrency;

namespace OrleansKafka.Leasing;

/// <summary>
/// Decides which silo owns which partition for one consumer group (the grain key), hands out
/// leases with epochs that only grow, and moves partitions one at a time.
/// </summary>
/// <remarks>
/// Only the inspection side is public; silos heartbeat through the internal
/// <c>ILeaseProtocolGrain</c> of the same grain, so the lease protocol can change without
/// changing this package's API.
/// </remarks>
[Alias("OrleansKafka.IPartitionLeaseGrain")]
public interface IPartitionLeaseGrain : IGrainWithStringKey
{
    /// <summary>The current owner and epoch of every known partition of the group.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<PartitionAssignment>> GetAssignmentsAsync();

    /// <summary>The group's measured load per silo and the silos it needs (<see cref="GroupLoad.SilosDesired"/>).</summary>
    [AlwaysInterleave]
    Task<GroupLoad> GetLoadAsync();
}
