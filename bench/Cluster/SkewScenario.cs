using System.Diagnostics;
using System.Globalization;
using System.Net;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansKafka.Leasing;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench.Cluster;

/// <summary>
/// <c>skew</c>: three silo processes, 12 partitions, two of them ten times as busy as the others,
/// a processor that keeps one slot of its silo 1 ms per record (a silo processes about 1,000
/// records a second in all). The two hot partitions are two that one silo owns when the partitions
/// are spread by number, the case placement by load is for. Each strategy in turn, in one run:
/// a backlog and a steady rate are produced, and the time until every partition's lag is under
/// 1,000 is taken (<c>skew.count_s</c>, <c>skew.load_s</c>, <c>skew.ratio</c>). After the load
/// run's backlog is gone, the group's <c>silos_desired</c> is read and set against the need
/// measured from the steady rate.
/// </summary>
internal static class SkewScenario
{
    private const string Topic = "skew";
    private const string Group = "skew";
    private const int Partitions = 12;
    private const int ColdBacklog = 2_000;
    private const int ColdPerSecond = 20;
    private const int HotFactor = 10;
    private const long LagGoal = 1_000;
    private static readonly TimeSpan CostPerRecord = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(240);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var backlog = options.Records ?? ColdBacklog;
        var count = await RunOnceAsync("Count", backlog, measureNeed: false);
        var load = await RunOnceAsync("Load", backlog, measureNeed: true);
        Report.Result("skew.count_s", count.Seconds);
        Report.Result("skew.load_s", load.Seconds);
        Report.Result("skew.ratio", count.Seconds / load.Seconds);
        Report.Result("skew.count_moves", count.Moves);
        Report.Result("skew.load_moves", load.Moves);
        Report.Result("skew.silos_desired", load.SilosDesired);
        Report.Result("skew.silos_needed", load.SilosNeeded);
        return 0;
    }

    private static async Task<(double Seconds, int Moves, int SilosDesired, int SilosNeeded)> RunOnceAsync(string balanceBy, int backlog, bool measureNeed)
    {
        var options = new SiloProcessClusterOptions { Silos = 3 };
        options.Topics[Topic] = Partitions;
        options.Topics[ClusterRun.Source] = ClusterRun.Partitions;
        options.Topics[ClusterRun.Forwarded] = ClusterRun.Partitions;
        foreach (var processor in new[] { "order-totals", "customer-totals", "kafka", "forwarder" })
        {
            options.Settings[$"Kafka__Processors__{processor}__Enabled"] = "false";
        }

        options.Settings["Kafka__Processors__skew__Topic"] = Topic;
        options.Settings["Kafka__Processors__skew__Group"] = Group;
        options.Settings["Kafka__Placement__BalanceBy"] = balanceBy;
        options.Settings["Kafka__Placement__SiloCapacity"] = "1";
        options.Settings["Skew__CostPerRecord"] = CostPerRecord.ToString("c", CultureInfo.InvariantCulture);
        options.Settings["Skew__SiloSlots"] = "1";
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var client = await ConnectAsync(cluster.Silos);
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var lease = grains.GetGrain<IPartitionLeaseGrain>(Group);

        // Spread by number first (nothing is measured yet, so both strategies agree): 4 each.
        IReadOnlyList<PartitionAssignment> owners = [];
        var spread = await Poll.UntilAsync(
            async () =>
            {
                owners = await lease.GetAssignmentsAsync();
                var bySilo = owners.Where(a => a.Owner is not null && !a.Revoking).GroupBy(a => a.Owner).Select(g => g.Count()).ToArray();
                return owners.Count == Partitions && bySilo.Length == 3 && bySilo.All(c => c == 4);
            },
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(200));
        if (!spread)
        {
            throw new TimeoutException($"{balanceBy}: the partitions were not spread 4 to each silo in time: {string.Join(", ", owners.Select(a => $"{a.Partition}={a.Owner}"))}");
        }

        var shared = owners.GroupBy(a => a.Owner).OrderBy(g => g.Key, StringComparer.Ordinal).First();
        var hot = shared.Select(a => a.Partition).Order().Take(2).ToHashSet();
        var before = owners.ToDictionary(a => a.Partition, a => a.Owner);
        Report.Note($"{balanceBy}: hot partitions {string.Join(" and ", hot)}, both on {shared.Key}");

        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5 }).Build();
        var started = Stopwatch.GetTimestamp();
        for (var p = 0; p < Partitions; p++)
        {
            Produce(producer, p, hot.Contains(p) ? backlog * HotFactor : backlog);
        }

        using var stop = new CancellationTokenSource();
        var steady = Task.Run(() => SteadyAsync(producer, hot, stop.Token));
        using var inspector = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = Partitions });
        var lagged = await Poll.UntilAsync(
            async () =>
            {
                var high = await inspector.HighWatermarksAsync(Topic);
                var committed = await inspector.CommittedOffsetsAsync(Group, Topic);
                return Enumerable.Range(0, Partitions).All(p => high.GetValueOrDefault(p) - Math.Max(0, committed.GetValueOrDefault(p, 0)) < LagGoal)
                    && high.Values.Sum() >= (HotFactor * 2 * backlog) + ((Partitions - 2) * backlog);
            },
            Deadline,
            TimeSpan.FromMilliseconds(250));
        var seconds = lagged ? Stopwatch.GetElapsedTime(started).TotalSeconds : double.PositiveInfinity;
        var after = await lease.GetAssignmentsAsync();
        var moved = after.Count(a => before.GetValueOrDefault(a.Partition) != a.Owner);
        Report.Note(string.Create(CultureInfo.InvariantCulture,
            $"{balanceBy}: every partition's lag under {LagGoal} after {seconds:0.0} s; {moved} partitions on another silo than at the start; hot partitions on {string.Join(" and ", after.Where(a => hot.Contains(a.Partition)).Select(a => a.Owner))}"));

        var (desired, needed) = (0, 0);
        if (measureNeed && lagged)
        {
            // The steady rate alone now: the need is its records a second × the cost of a record over 0.8 of a silo's capacity (1).
            await Task.Delay(PartitionLoadSettle);
            var load = await lease.GetLoadAsync();
            var rate = (ColdPerSecond * (Partitions - 2)) + (ColdPerSecond * HotFactor * 2);
            var perRecord = SleepSeconds();
            needed = (int)Math.Ceiling(rate * perRecord / (GroupLoad.TargetUtilization * 1));
            desired = load.SilosDesired;
            Report.Note(string.Create(CultureInfo.InvariantCulture,
                $"{balanceBy}: steady {rate} records/s at {perRecord * 1000:0.###} ms a record (a sleep of {CostPerRecord.TotalMilliseconds} ms, timed here); the lease grain measures {load.Cost:0.###} busy s/s ({string.Join(", ", load.Silos.Select(s => $"{s.Silo} {s.Cost:0.###} over {s.Partitions}"))}), silos_desired {desired}; need {needed}"));
        }

        await stop.CancelAsync();
        await steady;
        return (seconds, moved, desired, needed);
    }

    /// <summary>What the processor's sleep of <see cref="CostPerRecord"/> takes on this machine, in seconds: the mean of 200.</summary>
    private static double SleepSeconds()
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 200; i++)
        {
            Thread.Sleep(CostPerRecord);
        }

        return Stopwatch.GetElapsedTime(started).TotalSeconds / 200;
    }

    /// <summary>Long enough for the smoothed costs to forget the backlog (three smoothing times).</summary>
    private static readonly TimeSpan PartitionLoadSettle = TimeSpan.FromSeconds(30);

    private static void Produce(IProducer<byte[], byte[]> producer, int partition, int records)
    {
        var value = new byte[64];
        for (var i = 0; i < records; i++)
        {
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(Topic, partition), new Message<byte[], byte[]> { Key = BitConverter.GetBytes(i), Value = value });
                    break;
                }
                catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }
    }

    /// <summary>The cold partitions get <see cref="ColdPerSecond"/> records a second, the hot ones ten times that, in tenths of a second.</summary>
    private static async Task SteadyAsync(IProducer<byte[], byte[]> producer, HashSet<int> hot, CancellationToken stop)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                for (var p = 0; p < Partitions; p++)
                {
                    Produce(producer, p, (hot.Contains(p) ? ColdPerSecond * HotFactor : ColdPerSecond) / 10);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        producer.Flush(TimeSpan.FromSeconds(10));
    }

    private static async Task<IHost> ConnectAsync(IReadOnlyList<SiloProcess> silos)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(silos.Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray())
            .Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("dev", "dev")));
        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.StartAsync(timeout.Token);
        return host;
    }
}
