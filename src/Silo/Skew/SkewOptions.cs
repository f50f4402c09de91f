namespace OrleansKafka.Silo.Skew;

/// <summary>
/// The <c>skew</c> processor of the placement benchmark (<c>bench -- skew</c>), bound from the
/// <c>Skew</c> section. Off unless configured under <c>Kafka:Processors:skew</c>.
/// </summary>
public sealed class SkewOptions
{
    /// <summary>How long each record keeps one of the silo's slots. Default 1 ms.</summary>
    public TimeSpan CostPerRecord { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>How many records the silo processes at once, over all its partitions: its capacity. Default 1.</summary>
    public int SiloSlots { get; set; } = 1;
}
