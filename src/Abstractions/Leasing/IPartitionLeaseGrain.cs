using Orleans.Concurrency;

namespace OrleansKafka.Leasing;

/// <summary>
/// Decides which silo owns which partition for one consumer group (the grain key), hands out
/// leases with epochs that only grow, and moves partitions one at a time.
/// </summary>
[Alias("OrleansKafka.IPartitionLeaseGrain")]
public interface IPartitionLeaseGrain : IGrainWithStringKey
{
    /// <summary>
    /// A silo reports what it holds and what it released, and receives the leases it may hold
    /// until the next heartbeat. A held partition missing from the answer is being revoked.
    /// </summary>
    Task<LeaseResponse> HeartbeatAsync(SiloHeartbeat heartbeat);

    /// <summary>The current owner and epoch of every known partition of the group.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<PartitionAssignment>> GetAssignmentsAsync();
}
