namespace OrleansKafka.Configuration;

/// <summary>
/// How the lease grain of a consumer group spreads its partitions over the silos, bound from
/// <c>Kafka:Placement</c>. The lease grain uses the options of the silo it is active on.
/// </summary>
public sealed class PlacementOptions
{
    /// <summary>Default for <see cref="RebalanceInterval"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultRebalanceInterval = TimeSpan.FromSeconds(10);

    /// <summary>Default for <see cref="MaxMovesPerInterval"/>.</summary>
    public const int DefaultMaxMovesPerInterval = 2;

    /// <summary>Default for <see cref="Tolerance"/>.</summary>
    public const double DefaultTolerance = 0.2;

    /// <summary>
    /// <see cref="Configuration.BalanceBy.Load"/> (the default) balances the partitions' measured cost
    /// over the silos; <see cref="Configuration.BalanceBy.Count"/> balances their number.
    /// </summary>
    public BalanceBy BalanceBy { get; set; } = BalanceBy.Load;

    /// <summary>
    /// How often the lease grain looks for a move that balances the load better (Load only).
    /// Default 10 s.
    /// </summary>
    public TimeSpan RebalanceInterval { get; set; } = DefaultRebalanceInterval;

    /// <summary>
    /// The most partitions one rebalance moves between silos that already hold partitions (Load
    /// only). A silo that holds none (it just joined) takes its share at once. Default 2.
    /// </summary>
    public int MaxMovesPerInterval { get; set; } = DefaultMaxMovesPerInterval;

    /// <summary>
    /// How uneven the load may be before a partition moves, as a fraction of the mean load of a
    /// silo, 0.05 to 1 (Load only). A move is made only when the gap between two silos is larger
    /// than the moved partition's cost plus this margin, so the reverse move cannot follow unless
    /// the load changes by twice the margin. Default 0.2.
    /// </summary>
    public double Tolerance { get; set; } = DefaultTolerance;

    /// <summary>
    /// How much processing this silo can carry, in busy seconds per second (one partition
    /// processing without a pause is 1). Used for the group's <c>silos_desired</c> signal. Default:
    /// the processors the silo may use.
    /// </summary>
    public double SiloCapacity { get; set; } = Environment.ProcessorCount;
}
