using System.Diagnostics;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench.Cluster;

/// <summary>
/// Silo host processes on a Redis store and a Kafka process, with records produced at a steady
/// rate and the forwarder's output watched: the shared set-up of the failover and handoff runs.
/// </summary>
internal sealed class ClusterRun : IAsyncDisposable
{
    public const string Source = "demo-orders";
    public const string Forwarded = "demo-orders-forwarded";
    public const int Partitions = 12;

    private readonly SteadyProducer _producer;

    private ClusterRun(SiloProcessCluster cluster, SteadyProducer producer, ForwardedWatch watch)
    {
        Cluster = cluster;
        _producer = producer;
        Watch = watch;
    }

    public SiloProcessCluster Cluster { get; }

    public ForwardedWatch Watch { get; }

    public static async Task<ClusterRun> StartAsync(int silos, int recordsPerSecond)
    {
        var options = new SiloProcessClusterOptions { Silos = silos };
        if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1")
        {
            options.Settings["Logging__Console__FormatterName"] = "simple";
            options.Settings["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
            options.Settings["Logging__Console__FormatterOptions__SingleLine"] = "true";
        }

        // For comparisons: BENCH_SILO_SETTINGS=K=V,K=V over the silos' settings, such as
        // DOTNET_gcServer=1 for server GC in the silo processes.
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_SILO_SETTINGS") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = (pair[..pair.IndexOf('=', StringComparison.Ordinal)], pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            options.Settings[key] = value;
        }

        // For comparisons: BENCH_SILO_ASSEMBLY=<a published OrleansKafka.Silo.dll>, such as a ReadyToRun build.
        options.SiloAssembly = Environment.GetEnvironmentVariable("BENCH_SILO_ASSEMBLY") is { Length: > 0 } assembly ? assembly : null;
        var cluster = await SiloProcessCluster.StartAsync(options);
        var watch = new ForwardedWatch(cluster.BootstrapServers, Forwarded, Partitions);
        var producer = new SteadyProducer(cluster.BootstrapServers, Source, Partitions, recordsPerSecond);
        return new ClusterRun(cluster, producer, watch);
    }

    public IEnumerable<SiloProcess> Live => Cluster.Silos.Where(s => !s.Process.HasExited);

    /// <summary>
    /// Waits until every partition is being forwarded (a record in the last half second) by a
    /// live silo and the partitions are spread evenly over the live silos.
    /// </summary>
    public async Task WaitForBalanceAsync(TimeSpan timeout)
    {
        var live = Live.Select(s => s.Endpoint).ToHashSet(StringComparer.Ordinal);
        var balanced = await Poll.UntilAsync(
            () =>
            {
                var latest = Watch.Latest();
                var now = Stopwatch.GetTimestamp();
                if (latest.Any(a => a is null || !live.Contains(a.Value.Silo) || Stopwatch.GetElapsedTime(a.Value.Timestamp, now) > TimeSpan.FromSeconds(0.5)))
                {
                    return false;
                }

                var counts = live.Select(s => latest.Count(a => a!.Value.Silo == s)).ToArray();
                return counts.Max() - counts.Min() <= 1;
            },
            timeout,
            TimeSpan.FromMilliseconds(100));
        if (!balanced)
        {
            var latest = Watch.Latest();
            throw new TimeoutException($"Partitions not spread over the live silos ({string.Join(", ", live)}) in time; latest forwarding silo by partition: {string.Join(", ", latest.Select((a, p) => $"{p}={a?.Silo ?? "none"}"))}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _producer.DisposeAsync();
        Watch.Dispose();
        await Cluster.DisposeAsync();
    }
}
