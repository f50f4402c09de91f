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
internal sealed unsafe class EmbeddedKafkaCluster : IDisposable
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

        // Without a controller in its metadata, the admin requests that go to the controller
        // (describing the cluster and its brokers' racks, describing topics) wait for one until they time out.
        api.MockSetControllerId(cluster, 1);
        var bootstraps = Marshal.PtrToStringUTF8((IntPtr)api.MockClusterBootstraps(cluster)) ?? string.Empty;
        return new EmbeddedKafkaCluster(client, cluster, bootstraps) { Brokers = brokers };
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

    /// <summary>The number of brokers; their ids are 1 to this.</summary>
    public int Brokers { get; private init; }

    /// <summary>
    /// Takes every broker down (<paramref name="up"/> false: connections are closed and new ones
    /// refused, as when the Kafka cluster is unreachable) or brings them back up.
    /// </summary>
    public void SetBrokersUp(bool up)
    {
        for (var id = 1; id <= Brokers; id++)
        {
            SetBrokerUp(id, up);
        }
    }

    /// <summary>Takes one broker (1 to <see cref="Brokers"/>) down or brings it back up. For tests of partial outages.</summary>
    internal void SetBrokerUp(int brokerId, bool up) =>
        Run(c => up ? LibrdkafkaNative.Api.MockBrokerSetUp(c, brokerId) : LibrdkafkaNative.Api.MockBrokerSetDown(c, brokerId), $"set broker {brokerId} {(up ? "up" : "down")}");

    /// <summary>Makes one broker answer every request <paramref name="roundTrip"/> late (zero: at once). For tests of slow brokers.</summary>
    internal void SetBrokerRoundTrip(int brokerId, TimeSpan roundTrip) =>
        Run(c => LibrdkafkaNative.Api.MockBrokerSetRtt(c, brokerId, (int)roundTrip.TotalMilliseconds), $"delay broker {brokerId}'s answers by {roundTrip}");

    /// <summary>Makes one broker the coordinator of a consumer group (where its offsets are committed and read).</summary>
    internal void SetGroupCoordinator(string group, int brokerId)
    {
        var type = Encoding.UTF8.GetBytes("group\0");
        var key = Encoding.UTF8.GetBytes(group + "\0");
        Run(
            c =>
            {
                fixed (byte* t = type, k = key)
                {
                    return LibrdkafkaNative.Api.MockCoordinatorSet(c, t, k, brokerId);
                }
            },
            $"make broker {brokerId} the coordinator of group '{group}'");
    }

    /// <summary>Gives a broker a rack (its zone), which clients see in the cluster's metadata.</summary>
    public void SetBrokerRack(int brokerId, string rack)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rack);
        var name = Encoding.UTF8.GetBytes(rack + "\0");
        Run(
            c =>
            {
                fixed (byte* r = name)
                {
                    return LibrdkafkaNative.Api.MockBrokerSetRack(c, brokerId, r);
                }
            },
            $"give broker {brokerId} rack '{rack}'");
    }

    /// <summary>Gives brokers 1, 2, ... the racks of <paramref name="racks"/> (comma-separated) in turn, when set.</summary>
    public void SetBrokerRacks(string? racks)
    {
        var names = (racks ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var broker = 1; broker <= Brokers && names.Length > 0; broker++)
        {
            SetBrokerRack(broker, names[(broker - 1) % names.Length]);
        }
    }

    /// <summary>Makes one broker the leader of a partition (where it is fetched from).</summary>
    internal void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        var name = Encoding.UTF8.GetBytes(topic + "\0");
        Run(
            c =>
            {
                fixed (byte* t = name)
                {
                    return LibrdkafkaNative.Api.MockPartitionSetLeader(c, t, partition, brokerId);
                }
            },
            $"make broker {brokerId} the leader of {topic}/{partition}");
    }

    private void Run(Func<IntPtr, int> call, string what)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            var error = call(_cluster);
            if (error != 0)
            {
                throw new InvalidOperationException($"The embedded Kafka cluster could not {what} (librdkafka error code {error}).");
            }
        }
    }

    /// <summary>
    /// Makes the next requests of one kind fail: the brokers answer the next
    /// <paramref name="errors"/>.Length requests with Kafka API key <paramref name="apiKey"/> (8 is
    /// OffsetCommit) with these Kafka error codes, in order. For tests of error handling.
    /// </summary>
    internal void FailNextRequests(short apiKey, params int[] errors)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            fixed (int* p = errors)
            {
                LibrdkafkaNative.Api.MockPushRequestErrors(_cluster, apiKey, (nuint)errors.Length, p);
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
