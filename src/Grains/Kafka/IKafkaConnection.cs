namespace OrleansKafka.Kafka;

/// <summary>The Kafka cluster this silo uses; resolve it from the silo's services.</summary>
public interface IKafkaConnection
{
    /// <summary>The bootstrap servers, configured or those of the embedded cluster.</summary>
    string BootstrapServers { get; }

    /// <summary>True when the silo runs an embedded in-process cluster.</summary>
    bool IsEmbedded { get; }

    /// <summary>Settings for a new Kafka client: the brokers, the configured pass-through settings, then <paramref name="specific"/>.</summary>
    Dictionary<string, string> ClientSettings(IReadOnlyDictionary<string, string>? specific = null);
}
