using System.Runtime.InteropServices;
using System.Text;

namespace OrleansKafka.Kafka;

/// <summary>
/// An in-process Kafka cluster for development and tests: librdkafka's mock cluster, which
/// speaks the Kafka protocol on loopback TCP so that any Kafka client can use it.
/// </summary>
/// <remarks>
/// It keeps records in memory (about 5 MiB or 100,000 batches per partition; older records are
/// dropped), has no admin API and no real transactions. Use it for development, tests and
/// benchmarks, never in production.
/// </remarks>
public sealed unsafe class EmbeddedKafkaCluster : IDisposable
{
    private readonly Lock _lock = new();
    private IntPtr _client;
    private IntPtr _cluster;

    private EmbeddedKafkaCluster(IntPtr client, IntPtr cluster, string bootstrapServers)
    {
        _client = client;
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The comma-separated loopback addresses of the brokers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers on loopback.</summary>
    public static EmbeddedKafkaCluster Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var api = LibrdkafkaNative.Api;
        var errors = stackalloc byte[512];
        var conf = api.ConfNew();
        // The handle exists only to own the mock cluster; keep its own logging quiet.
        SetConf(api, conf, "log_level", "3", errors);
        var client = api.New(0, conf, errors, 512);
        if (client == IntPtr.Zero)
        {
            throw new InvalidOperationException($"librdkafka refused to create the handle for the embedded Kafka cluster: {Marshal.PtrToStringUTF8((IntPtr)errors)}");
        }

        var cluster = api.MockClusterNew(client, brokers);
        if (cluster == IntPtr.Zero)
        {
            api.Destroy(client);
            throw new InvalidOperationException("librdkafka could not start the embedded Kafka cluster (rd_kafka_mock_cluster_new returned nothing).");
        }

        var bootstraps = Marshal.PtrToStringUTF8((IntPtr)api.MockClusterBootstraps(cluster)) ?? string.Empty;
        return new EmbeddedKafkaCluster(client, cluster, bootstraps);
    }

    /// <summary>Creates a topic with <paramref name="partitions"/> partitions.</summary>
    public void CreateTopic(string topic, int partitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        var name = Encoding.UTF8.GetBytes(topic + "\0");
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            int error;
            fixed (byte* p = name)
            {
                error = LibrdkafkaNative.Api.MockTopicCreate(_cluster, p, partitions, 1);
            }

            if (error != 0)
            {
                throw new InvalidOperationException($"The embedded Kafka cluster refused to create topic '{topic}' with {partitions} partitions (librdkafka error code {error}).");
            }
        }
    }

    /// <summary>Stops the brokers; clients still connected see their connections fail.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_cluster == IntPtr.Zero)
            {
                return;
            }

            LibrdkafkaNative.Api.MockClusterDestroy(_cluster);
            LibrdkafkaNative.Api.Destroy(_client);
            _cluster = IntPtr.Zero;
            _client = IntPtr.Zero;
        }
    }

    private static void SetConf(LibrdkafkaNative.Functions api, IntPtr conf, string name, string value, byte* errors)
    {
        var n = Encoding.UTF8.GetBytes(name + "\0");
        var v = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* pn = n, pv = v)
        {
            if (api.ConfSet(conf, pn, pv, errors, 512) != 0)
            {
                throw new InvalidOperationException($"librdkafka rejected '{name}={value}': {Marshal.PtrToStringUTF8((IntPtr)errors)}");
            }
        }
    }
}
