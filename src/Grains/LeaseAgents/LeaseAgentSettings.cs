namespace OrleansKafka.LeaseAgents;

/// <summary>
/// The timings a <see cref="LeaseAgent"/> runs by, taken from the processing options; the
/// heartbeat timeout (how long a heartbeat may wait for its answer before the next one is tried)
/// is half a lease. <c>Capacity</c> is <c>Kafka:Placement:SiloCapacity</c>, and <c>LacksRoles</c> the roles the group's
/// processors require that this silo lacks, both sent with each heartbeat.
/// </summary>
internal sealed record LeaseAgentSettings(TimeSpan RenewInterval, TimeSpan StartupTimeout, TimeSpan MetadataRefreshInterval, TimeSpan HeartbeatTimeout, int Weight = 1, bool FirstStartsAtEnd = false, double Capacity = 1, IReadOnlyList<string>? LacksRoles = null, string? Zone = null);
