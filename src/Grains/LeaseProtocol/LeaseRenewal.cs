namespace OrleansKafka.LeaseProtocol;

/// <summary>
/// What a silo sends between heartbeats while one is slow to be answered: the leases it holds,
/// to be renewed and nothing else (see <see cref="ILeaseProtocolGrain.RenewAsync"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.LeaseRenewal")]
internal sealed record LeaseRenewal
{
    /// <summary>The silo's stable identity (its endpoint), as in its heartbeats.</summary>
    [Id(0)] public required string SiloId { get; init; }

    /// <summary>The silo run (its address with generation) that sent the renewal.</summary>
    [Id(1)] public string? Instance { get; init; }

    /// <summary>The leases the silo holds now.</summary>
    [Id(2)] public required IReadOnlyList<LeaseGrant> Held { get; init; }
}
