using OrleansKafka.Configuration;
using OrleansKafka.Hosting;

namespace OrleansKafka.Testing;

/// <summary>What a <see cref="KafkaTestCluster"/> starts.</summary>
public sealed class KafkaTestClusterOptions
{
    /// <summary>Number of silos. Default 1.</summary>
    public int Silos { get; set; } = 1;

    /// <summary>Topics to create on the embedded Kafka cluster, with their partition counts.</summary>
    public Dictionary<string, int> Topics { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The cluster's service id; null for a new one per cluster. Two clusters with the same one
    /// (one after the other) share the grain state they keep in a durable storage.
    /// </summary>
    public string? ServiceId { get; set; }

    /// <summary>Registers the processors under test, on every silo.</summary>
    public Action<IKafkaProcessingBuilder>? Processors { get; set; }

    /// <summary>Adjusts the processing options after the test defaults (short leases and commit intervals).</summary>
    public Action<KafkaProcessingOptions>? Configure { get; set; }

    /// <summary>Adds services to every silo, for example a shared recorder the processors write to.</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? Services { get; set; }
}
