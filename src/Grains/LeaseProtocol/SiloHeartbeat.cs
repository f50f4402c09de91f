namespace OrleansKafka.LeaseProtocol;

/// <summary>What a silo tells the lease grain of a consumer group on each heartbeat.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.SiloHeartbeat")]
internal sealed record SiloHeartbeat
{
    /// <summary>The silo's stable identity (its endpoint), the same across restarts.</summary>
    [Id(0)] public required string SiloId { get; init; }

    /// <summary>The topics this silo processes for the group, with their partition counts from Kafka metadata.</summary>
    [Id(1)] public required IReadOnlyDictionary<string, int> Topics { get; init; }

    /// <summary>The leases the silo holds now.</summary>
    [Id(2)] public required IReadOnlyList<LeaseGrant> Held { get; init; }

    /// <summary>Leases the silo gave up since its last heartbeat, after draining and committing.</summary>
    [Id(3)] public required IReadOnlyList<LeaseGrant> Released { get; init; }

    /// <summary>The silo is shutting down: grant it nothing more and give its partitions to others.</summary>
    [Id(4)] public bool Leaving { get; init; }

    /// <summary>Where the lease grain wakes the silo when a grant or revoke is waiting for it; none means it waits for the next heartbeat.</summary>
    [Id(5)] public ILeaseAgentObserver? Agent { get; init; }

    /// <summary>The silo's share of the partitions relative to the others' (0: a standby, used only when no other silo is live).</summary>
    [Id(6)] public int Weight { get; init; } = 1;

    /// <summary>The silo run (its address with generation) that sent the heartbeat.</summary>
    [Id(7)] public string? Instance { get; init; }

    /// <summary>Grows with each heartbeat of one run: a heartbeat handled after a newer one of the same run is stale.</summary>
    [Id(8)] public long Sequence { get; init; }

    /// <summary>What the silo measured of the partitions it holds (those it has figures for).</summary>
    [Id(9)] public IReadOnlyList<PartitionLoad> Loads { get; init; } = [];

    /// <summary>How much processing the silo can carry, in busy seconds a second (<c>Kafka:Placement:SiloCapacity</c>).</summary>
    [Id(10)] public double Capacity { get; init; } = 1;

    /// <summary>
    /// Roles the group's processors require that this silo lacks (<c>Kafka:Processors:&lt;name&gt;:Role</c>
    /// against <c>Kafka:Roles</c>): empty when it may process the group. A silo that lacks one is
    /// never granted a partition of the group.
    /// </summary>
    [Id(11)] public IReadOnlyList<string> LacksRoles { get; init; } = [];

    /// <summary>The silo's zone (<c>Kafka:Zone</c>); null when it has none.</summary>
    [Id(12)] public string? Zone { get; init; }

    /// <summary>The zone (rack) of each partition's leader broker, per topic, as the silo last read them; empty when the brokers have none.</summary>
    [Id(13)] public IReadOnlyDictionary<string, string?[]> LeaderZones { get; init; } = new Dictionary<string, string?[]>();
}
