namespace OrleansKafka.Leasing;

/// <summary>What the lease grain of a consumer group knows of its load, and how many silos it would need.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.GroupLoad")]
public sealed record GroupLoad
{
    /// <summary>The consumer group.</summary>
    [Id(4)] public required string Group { get; init; }

    /// <summary>What the lease grain balances: <c>Load</c> (measured cost) or <c>Count</c>.</summary>
    [Id(0)] public required string BalanceBy { get; init; }

    /// <summary>
    /// The silos the group needs to process its partitions at most at
    /// <see cref="TargetUtilization"/> of their capacity: the total cost (each partition's counted
    /// up to 1, since a partition's deliveries run one after another) over that share of the live
    /// silos' mean capacity, rounded up, at least 1 and never more than the partitions; 0 when no
    /// silo is live.
    /// </summary>
    [Id(1)] public required int SilosDesired { get; init; }

    /// <summary>The partitions' measured cost together, in busy seconds a second.</summary>
    [Id(2)] public required double Cost { get; init; }

    /// <summary>The live silos of the group with the cost of the partitions each owns.</summary>
    [Id(3)] public required IReadOnlyList<SiloLoad> Silos { get; init; }

    /// <summary>Why the group's partitions wait for an owner, when no live silo may take them; null otherwise.</summary>
    [Id(5)] public string? Waiting { get; init; }

    /// <summary>The share of a silo's capacity <see cref="SilosDesired"/> plans for: 0.8.</summary>
    public const double TargetUtilization = 0.8;
}
