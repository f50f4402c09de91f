using System.Diagnostics;
using System.Globalization;

namespace OrleansKafka.Bench.Cluster;

/// <summary>
/// <c>handoff</c>: two silo processes share the partitions; a third joins. For each partition the
/// longest gap between forwarded records is taken during the join: for partitions that moved to
/// the new silo (<c>handoff.moved_gap_s</c>) and for those that did not, against the longest
/// gap of the same length of time with no join (<c>handoff.unmoved_pause_s</c> is the excess).
/// </summary>
internal static class HandoffScenario
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var window = TimeSpan.FromSeconds(options.Seconds ?? 10);
        await using var run = await ClusterRun.StartAsync(silos: 2, recordsPerSecond: 2000);
        await run.WaitForBalanceAsync(TimeSpan.FromSeconds(60));

        var quietFrom = Stopwatch.GetTimestamp();
        await Task.Delay(window);
        var quietTo = Stopwatch.GetTimestamp();
        var before = run.Watch.Latest().Select(a => a!.Value.Silo).ToArray();

        var joinFrom = Stopwatch.GetTimestamp();
        var joined = await run.Cluster.StartSiloAsync();
        await run.WaitForBalanceAsync(TimeSpan.FromSeconds(60));
        var balancedAt = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var joinTo = Stopwatch.GetTimestamp();
        var after = run.Watch.Latest().Select(a => a!.Value.Silo).ToArray();

        var partitions = Enumerable.Range(0, run.Watch.Partitions).ToArray();
        var moved = partitions.Where(p => before[p] != after[p]).ToArray();
        var unmoved = partitions.Except(moved).ToArray();
        var baseline = partitions.Max(p => run.Watch.LongestGap(p, quietFrom, quietTo));
        var movedGap = moved.Length == 0 ? 0 : moved.Max(p => run.Watch.LongestGap(p, joinFrom, joinTo));
        var unmovedGap = unmoved.Max(p => run.Watch.LongestGap(p, joinFrom, joinTo));
        Report.Note(string.Create(CultureInfo.InvariantCulture,
            $"{joined.Name} joined; {moved.Length} of {partitions.Length} partitions moved ({string.Join(",", moved)}); balanced {Stopwatch.GetElapsedTime(joinFrom, balancedAt).TotalSeconds:0.0} s after the start of the new process"));
        Report.Result("handoff.moved_gap_s", movedGap);
        Report.Result("handoff.unmoved_max_gap_s", unmovedGap);
        Report.Result("handoff.baseline_max_gap_s", baseline);
        Report.Result("handoff.unmoved_pause_s", Math.Max(0, unmovedGap - baseline));
        if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1")
        {
            foreach (var silo in run.Cluster.Silos)
            {
                var lines = silo.Process.Output.ToArray();
                foreach (var line in lines.Where(l => moved.Any(p => (l.Contains($"demo-forwarder/demo-orders/{p} ", StringComparison.Ordinal) || l.Contains($"demo-forwarder/demo-orders/{p}\n", StringComparison.Ordinal) || l.EndsWith($"demo-forwarder/demo-orders/{p}", StringComparison.Ordinal)))))
                {
                    Report.Note($"{silo.Name}: {line}");
                }
            }

            foreach (var p in moved)
            {
                Report.Note(run.Watch.Describe(p, joinFrom, joinTo));
            }

            var quietest = partitions.MaxBy(p => run.Watch.LongestGap(p, quietFrom, quietTo));
            Report.Note($"baseline, {run.Watch.Describe(quietest, quietFrom, quietTo)}");

            // Every silo's whole log: the joined silo's start-up timeline, and what the others did meanwhile.
            foreach (var silo in run.Cluster.Silos)
            {
                var log = Path.Combine(Path.GetTempPath(), $"handoff-{silo.Name}.log");
                File.WriteAllLines(log, silo.Process.Output);
                Report.Note($"{silo.Name}'s log: {log}");
            }
        }

        return 0;
    }
}
