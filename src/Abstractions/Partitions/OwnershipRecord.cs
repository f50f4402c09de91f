namespace OrleansKafka.Partitions;

/// <summary>One owner in a partition's history: which silo held it, from when, under which lease epoch, and why it got it.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.OwnershipRecord")]
public sealed record OwnershipRecord
{
    /// <summary>The owning silo (its endpoint).</summary>
    [Id(0)] public required string Silo { get; init; }

    /// <summary>The lease epoch it processed under.</summary>
    [Id(1)] public required long Epoch { get; init; }

    /// <summary>When it started processing the partition (its own clock).</summary>
    [Id(2)] public required DateTimeOffset Since { get; init; }

    /// <summary>Why the lease grain granted it the partition.</summary>
    [Id(3)] public required OwnershipReason Reason { get; init; }

    /// <summary>For a rebalance by load: the figures that made the lease grain move it (the partition's cost, the two silos' loads); null otherwise.</summary>
    [Id(4)] public string? Detail { get; init; }
}
