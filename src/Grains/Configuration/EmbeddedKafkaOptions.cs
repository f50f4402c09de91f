namespace OrleansKafka.Configuration;

/// <summary>The in-process Kafka cluster started when no bootstrap servers are configured.</summary>
public sealed class EmbeddedKafkaOptions
{
    /// <summary>Default for <see cref="Brokers"/>.</summary>
    public const int DefaultBrokers = 3;

    /// <summary>Number of brokers. Default 3.</summary>
    public int Brokers { get; set; } = DefaultBrokers;

    /// <summary>The brokers' racks (zones), comma-separated, given to brokers 1, 2, ... in turn (<c>a,b,c</c>). Default none.</summary>
    public string? Racks { get; set; }

    /// <summary>Topics to create, with their partition counts.</summary>
    public Dictionary<string, int> Topics { get; set; } = new(StringComparer.Ordinal);
}
