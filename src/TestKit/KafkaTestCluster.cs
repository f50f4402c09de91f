using Orleans.TestingHost;
using OrleansKafka.Hosting;
using OrleansKafka.Kafka;

namespace OrleansKafka.Testing;

/// <summary>
/// An in-process Orleans cluster processing an embedded Kafka cluster, for testing processors:
/// start it, produce records, wait for their offsets to be committed, assert.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await KafkaTestCluster.StartAsync(o =>
/// {
///     o.Topics["orders"] = 4;
///     o.Processors = p => p.AddProcessor&lt;OrderProcessor&gt;("orders", x => { x.Topic = "orders"; x.Group = "billing"; });
/// });
/// await cluster.ProduceAsync("orders", [("k1", "v1")]);
/// await cluster.WaitForCommittedAsync("billing", "orders");
/// </code>
/// </example>
public sealed class KafkaTestCluster : IAsyncDisposable
{
    private readonly bool _ownsKafka;

    private KafkaTestCluster(EmbeddedKafkaCluster kafka, bool ownsKafka, KafkaTestClusterOptions options, InProcessTestCluster cluster)
    {
        Kafka = kafka;
        _ownsKafka = ownsKafka;
        Cluster = cluster;
        Inspector = new KafkaInspector(kafka.BootstrapServers, options.Topics);
    }

    /// <summary>The embedded Kafka cluster, with its fault injection (this repository's tests).</summary>
    internal EmbeddedKafkaCluster Kafka { get; }

    /// <summary>The bootstrap servers of the embedded Kafka cluster, for any Kafka client.</summary>
    public string BootstrapServers => Kafka.BootstrapServers;

    /// <summary>The Orleans test cluster.</summary>
    public InProcessTestCluster Cluster { get; }

    /// <summary>A client connected to the cluster.</summary>
    public IClusterClient Client => Cluster.Client;

    /// <summary>Starts an embedded Kafka cluster, creates the topics, and starts the silos.</summary>
    public static Task<KafkaTestCluster> StartAsync(Action<KafkaTestClusterOptions> configure) =>
        StartAsync(configure, kafka: null);

    /// <summary>Starts silos against an existing embedded Kafka cluster (to restart a cluster over the same records).</summary>
    internal static async Task<KafkaTestCluster> StartAsync(Action<KafkaTestClusterOptions> configure, EmbeddedKafkaCluster? kafka)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new KafkaTestClusterOptions();
        configure(options);
        var ownsKafka = kafka is null;
        kafka ??= EmbeddedKafkaCluster.Start();
        if (ownsKafka)
        {
            foreach (var (topic, partitions) in options.Topics)
            {
                kafka.CreateTopic(topic, partitions);
            }
        }

        var builder = new InProcessTestClusterBuilder((short)options.Silos);
        if (options.ServiceId is { } serviceId)
        {
            builder.Options.ServiceId = serviceId;
        }

        var bootstrap = kafka.BootstrapServers;
        builder.ConfigureSilo((_, silo) =>
        {
            options.Services?.Invoke(silo.Services);
            var processing = silo.AddKafkaProcessing(configure: o =>
            {
                o.BootstrapServers = bootstrap;
                o.LeaseDuration = TimeSpan.FromSeconds(3);
                o.LeaseRenewInterval = TimeSpan.FromMilliseconds(250);
                o.CommitInterval = TimeSpan.FromMilliseconds(100);
                o.StartupTimeout = TimeSpan.FromSeconds(5);
                options.Configure?.Invoke(o);
            });
            options.Processors?.Invoke(processing);
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            if (ownsKafka)
            {
                kafka.Dispose();
            }

            throw;
        }

        return new KafkaTestCluster(kafka, ownsKafka, options, cluster);
    }

    /// <summary>Produces to and reads from the embedded Kafka cluster from the outside.</summary>
    public KafkaInspector Inspector { get; }

    /// <summary>Produces string records and waits until Kafka has acknowledged all of them.</summary>
    public Task ProduceAsync(string topic, IEnumerable<(string? Key, string? Value)> records, int? partition = null) =>
        Inspector.ProduceAsync(topic, records, partition);

    /// <summary>The high watermark of every partition of a topic, by partition.</summary>
    public Task<Dictionary<int, long>> HighWatermarksAsync(string topic) => Inspector.HighWatermarksAsync(topic);

    /// <summary>The committed offsets of a group on every partition of a topic (-1 where nothing is committed).</summary>
    public Task<Dictionary<int, long>> CommittedOffsetsAsync(string group, string topic) => Inspector.CommittedOffsetsAsync(group, topic);

    /// <summary>Waits until the group has committed every partition of the topic up to its high watermark.</summary>
    /// <exception cref="TimeoutException">Not reached in time; the message shows the offsets seen last.</exception>
    public Task WaitForCommittedAsync(string group, string topic, TimeSpan? timeout = null) => Inspector.WaitForCommittedAsync(group, topic, timeout);

    /// <summary>Waits until the group's committed offsets reach <paramref name="expected"/> on every partition listed.</summary>
    public Task WaitForCommittedAsync(string group, string topic, IReadOnlyDictionary<int, long> expected, TimeSpan? timeout = null) =>
        Inspector.WaitForCommittedAsync(group, topic, expected, timeout);

    /// <summary>Stops every silo gracefully: partitions are drained and committed.</summary>
    public Task StopSilosAsync() => Cluster.StopAllSilosAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Inspector.Dispose();
        await Cluster.DisposeAsync();
        if (_ownsKafka)
        {
            Kafka.Dispose();
        }
    }
}
