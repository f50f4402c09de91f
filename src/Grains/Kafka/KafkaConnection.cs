using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansKafka.Configuration;

namespace OrleansKafka.Kafka;

/// <summary>Where this silo's Kafka is: the configured brokers, or an embedded cluster started on first use.</summary>
internal sealed partial class KafkaConnection : IKafkaConnection, IDisposable
{
    private readonly KafkaProcessingOptions _options;
    private readonly EmbeddedKafkaCluster? _embedded;

    public KafkaConnection(IOptions<KafkaProcessingOptions> options, ILogger<KafkaConnection> logger)
    {
        _options = options.Value;
        if (!string.IsNullOrWhiteSpace(_options.BootstrapServers))
        {
            BootstrapServers = _options.BootstrapServers;
            return;
        }

        _embedded = EmbeddedKafkaCluster.Start(_options.Embedded.Brokers);
        _embedded.SetBrokerRacks(_options.Embedded.Racks);
        foreach (var (topic, partitions) in _options.Embedded.Topics)
        {
            _embedded.CreateTopic(topic, partitions);
        }

        BootstrapServers = _embedded.BootstrapServers;
        LogEmbeddedStarted(logger, _options.Embedded.Brokers, BootstrapServers, string.Join(", ", _options.Embedded.Topics.Select(t => $"{t.Key} ({t.Value} partitions)")));
    }

    public string BootstrapServers { get; }

    public bool IsEmbedded => _embedded is not null;

    /// <summary>The settings every client of this silo starts from: brokers, then the configured pass-through settings.</summary>
    public Dictionary<string, string> ClientSettings(IReadOnlyDictionary<string, string>? specific = null)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal) { ["bootstrap.servers"] = BootstrapServers };
        foreach (var (key, value) in _options.Client)
        {
            settings[key] = value;
        }

        foreach (var (key, value) in specific ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public void Dispose() => _embedded?.Dispose();

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Embedded Kafka cluster of {Brokers} brokers started; bootstrap servers: {BootstrapServers}; topics: {Topics}")]
    private static partial void LogEmbeddedStarted(ILogger logger, int brokers, string bootstrapServers, string topics);
}
