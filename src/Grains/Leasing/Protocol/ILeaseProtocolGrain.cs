namespace OrleansKafka.Leasing.Protocol;

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
}
