using Confluent.Kafka;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Health;

/// <summary>
/// Whether this silo's Kafka answers: a metadata request for a processed topic, at most one in
/// flight and its answer reused for a second, so that probes from several places cost Kafka one
/// small request a second at most.
/// </summary>
internal sealed class KafkaReachability(KafkaConnection connection, ProcessorCatalog catalog, TimeProvider time) : IDisposable
{
    /// <summary>How long a metadata request may take before Kafka counts as unreachable.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);
    private readonly Lock _lock = new();
    private IAdminClient? _admin;
    private Task<string?>? _probe;
    private long _probedAt;
    private bool _disposed;

    /// <summary>Null when Kafka answered; otherwise why not, naming the setting.</summary>
    public Task<string?> ProbeAsync()
    {
        lock (_lock)
        {
            if (_probe is null || (_probe.IsCompleted && time.GetElapsedTime(_probedAt) >= Reuse))
            {
                _probedAt = time.GetTimestamp();
                _probe = Task.Run(Probe);
            }

            return _probe;
        }
    }

    public void Dispose()
    {
        Task? probe;
        lock (_lock)
        {
            _disposed = true;
            probe = _probe;
        }

        // librdkafka must not be destroyed under a request in flight; one lasts Timeout at most.
        probe?.Wait(Timeout + Timeout);
        _admin?.Dispose();
    }

    private string? Probe()
    {
        try
        {
            var admin = Admin();
            var topic = catalog.Groups.Values.SelectMany(b => b).Select(b => b.Topic).FirstOrDefault();
            var metadata = topic is null ? admin.GetMetadata(Timeout) : admin.GetMetadata(topic, Timeout);
            return metadata.Brokers.Count == 0
                ? $"Kafka at {KafkaProcessingOptions.SectionName}:BootstrapServers = '{connection.BootstrapServers}' answered with no brokers"
                : null;
        }
        catch (KafkaException e)
        {
            return $"Kafka at {KafkaProcessingOptions.SectionName}:BootstrapServers = '{connection.BootstrapServers}' did not answer a metadata request within {Timeout.TotalSeconds:0} s: {e.Error.Reason}";
        }
        catch (ObjectDisposedException)
        {
            return "the silo is stopping";
        }
    }

    private IAdminClient Admin()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _admin ??= new AdminClientBuilder(connection.ClientSettings(new Dictionary<string, string>
            {
                ["client.id"] = "orleanskafka-health",
                // Back within a second of Kafka's return, not librdkafka's default of up to 10 s.
                ["reconnect.backoff.max.ms"] = "1000",
            })).SetLogHandler((_, _) => { }).Build(); // the fetch consumers log the same broker errors
        }
    }
}
