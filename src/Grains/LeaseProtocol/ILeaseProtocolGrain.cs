using OrleansKafka.Leasing;

namespace OrleansKafka.LeaseProtocol;

/// <summary>
/// The lease agents' side of a consumer group's partition-lease grain (the grain key is the
/// group); the same grain as the public, read-only <see cref="IPartitionLeaseGrain"/>.
/// </summary>
/// <remarks>
/// Internal so the heartbeat and its messages can change without changing the public API.
/// The alias keeps the interface's wire name independent of its namespace.
/// </remarks>
[Alias("OrleansKafka.ILeaseProtocolGrain")]
internal interface ILeaseProtocolGrain : IGrainWithStringKey
{
    /// <summary>
    /// A silo reports what it holds and what it released, and receives the leases it may hold
    /// until the next heartbeat. A held partition missing from the answer is being revoked.
    /// </summary>
    Task<LeaseResponse> HeartbeatAsync(SiloHeartbeat heartbeat);

    /// <summary>
    /// Renews the leases a silo still holds as the grain has them (same epoch, not being revoked)
    /// and changes nothing else: the answer's grants are the leases renewed, until
    /// <see cref="LeaseResponse.LeaseDuration"/> after the silo sent the renewal. Renewals may
    /// overlap and arrive in any order, since each only moves deadlines later; a silo sends them
    /// while a heartbeat is slow to be answered, so that its leases do not run out behind it.
    /// </summary>
    Task<LeaseResponse> RenewAsync(LeaseRenewal renewal);

    /// <summary>An operator moves a partition to a silo of the group (see <c>LeaseBook.Move</c> in the lease grain); its agents are woken to carry it out.</summary>
    /// <exception cref="InvalidOperationException">The partition or the silo is not one of the group's.</exception>
    Task MoveAsync(string topic, int partition, string silo);
}
