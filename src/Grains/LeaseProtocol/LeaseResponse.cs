using OrleansKafka.Leasing;

namespace OrleansKafka.LeaseProtocol;

/// <summary>The lease grain's answer to a heartbeat or a renewal.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.LeaseResponse")]
internal sealed record LeaseResponse
{
    /// <summary>The leases the silo holds until <see cref="LeaseDuration"/> after it sent the heartbeat (or renewal).</summary>
    [Id(0)] public required IReadOnlyList<LeaseGrant> Grants { get; init; }

    /// <summary>How long the grants last, counted by the silo from when it sent the heartbeat.</summary>
    [Id(1)] public required TimeSpan LeaseDuration { get; init; }

    /// <summary>The owner of every owned partition of the group, so any silo can place a partition grain at its owner.</summary>
    [Id(2)] public IReadOnlyList<PartitionAssignment> Owners { get; init; } = [];

    /// <summary>
    /// Set when the lease grain refuses the silo: it reports other topics for the group than the
    /// group's live silos do. The silo is granted nothing; the text says what differs.
    /// </summary>
    [Id(3)] public string? Rejected { get; init; }

    /// <summary>
    /// Leases the silo is giving up (left out of <see cref="Grants"/>) that it still reports held:
    /// renewed like grants, so that the work it has already sent under them can finish before it
    /// releases them, for at most the lease grain's drain bound after the revoke.
    /// </summary>
    [Id(4)] public IReadOnlyList<LeaseGrant> Draining { get; init; } = [];
}
