using System.Diagnostics;
using System.Globalization;

namespace OrleansKafka.Bench.Cluster;

/// <summary>
/// <c>failover</c>: three silo processes with default options; one is killed with SIGKILL, and
/// the time is taken from the kill until every partition it owned is forwarded again by another
/// silo, as seen by a consumer of the output topic. A new silo then takes the dead one's place
/// and the next kill waits for the partitions to be spread again. Median of the kills.
/// </summary>
internal static class FailoverScenario
{
    private static readonly bool LeaseHostsOnly = Environment.GetEnvironmentVariable("BENCH_FAILOVER_VICTIM") == "lease-host";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var kills = options.Records ?? 5;
        await using var run = await ClusterRun.StartAsync(silos: 3, recordsPerSecond: 2000);
        var times = new List<double>();
        var (leaseHostTimes, otherTimes) = (new List<double>(), new List<double>());
        for (var kill = 0; kill < kills; kill++)
        {
            await run.WaitForBalanceAsync(TimeSpan.FromSeconds(60));
            var live = run.Live.ToList();
            var leaseHost = LeaseGrainHost(run, "demo-forwarder");

            // BENCH_FAILOVER_VICTIM=lease-host kills the lease grain's silo every time (its kills
            // are the slow ones); by default the victim rotates over the live silos.
            var victim = LeaseHostsOnly && live.FirstOrDefault(s => s.Endpoint == leaseHost) is { } host ? host : live[kill % live.Count];
            var owned = run.Watch.Latest().Select((a, p) => (a, p)).Where(x => x.a?.Silo == victim.Endpoint).Select(x => x.p).ToArray();

            var killedAt = Stopwatch.GetTimestamp();
            victim.Process.KillHard();
            var resumed = await WaitForResumeAsync(run.Watch, owned, victim.Endpoint, killedAt, TimeSpan.FromSeconds(60));
            times.Add(resumed);
            var hostedLeaseGrain = leaseHost == victim.Endpoint;
            (hostedLeaseGrain ? leaseHostTimes : otherTimes).Add(resumed);
            Report.Note(string.Create(CultureInfo.InvariantCulture, $"kill {kill + 1}: {victim.Name} ({victim.Endpoint}, {owned.Length} partitions [{string.Join(",", owned)}]{(hostedLeaseGrain ? ", the group's lease grain" : string.Empty)}) -> processing again elsewhere after {resumed:0.00} s"));
            if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1")
            {
                // What each silo logged up to now, for a look at where a slow failover spent its time.
                var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "orleanskafka-failover-trace")).FullName;
                foreach (var silo in run.Cluster.Silos)
                {
                    await File.WriteAllLinesAsync(Path.Combine(directory, $"kill{kill + 1}-{silo.Name}.log"), silo.Process.Output);
                }

                Report.Note(string.Create(CultureInfo.InvariantCulture, $"kill {kill + 1}: killed at {DateTime.UtcNow - Stopwatch.GetElapsedTime(killedAt):HH:mm:ss.fff} UTC; silo logs in {directory}"));
            }
            await run.Cluster.StartSiloAsync();
        }

        times.Sort();
        Report.Result("failover.median_s", times[times.Count / 2]);
        Report.Result("failover.max_s", times[^1]);
        Report.Result("failover.min_s", times[0]);
        Report.Result("failover.lease_host_kills", leaseHostTimes.Count);
        if (otherTimes.Count > 0)
        {
            otherTimes.Sort();
            Report.Result("failover.other_median_s", otherTimes[otherTimes.Count / 2]);
        }

        if (leaseHostTimes.Count > 0)
        {
            leaseHostTimes.Sort();
            Report.Result("failover.lease_host_median_s", leaseHostTimes[leaseHostTimes.Count / 2]);
        }
        return 0;
    }

    /// <summary>The live silo whose latest line about the group's lease grain says it activated there: where its leases are decided.</summary>
    private static string? LeaseGrainHost(ClusterRun run, string group)
    {
        var activated = $"Lease grain of consumer group {group} activated on silo ";
        var deactivated = $"Lease grain of consumer group {group} deactivated on silo ";
        return run.Live
            .Where(s => s.Process.Output.LastOrDefault(l => l.Contains(activated, StringComparison.Ordinal) || l.Contains(deactivated, StringComparison.Ordinal)) is { } last
                && last.Contains(activated, StringComparison.Ordinal))
            .Select(s => s.Endpoint)
            .FirstOrDefault();
    }

    private static async Task<double> WaitForResumeAsync(ForwardedWatch watch, int[] partitions, string dead, long killedAt, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var firsts = partitions.Select(p => watch.Between(p, killedAt, long.MaxValue).FirstOrDefault(a => a.Silo != dead)).ToArray();
            if (firsts.All(a => a.Silo is not null))
            {
                return firsts.Max(a => Stopwatch.GetElapsedTime(killedAt, a.Timestamp).TotalSeconds);
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The partitions of {dead} were not processed elsewhere within {timeout.TotalSeconds:0} s.");
    }
}
