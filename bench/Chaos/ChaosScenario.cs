using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using OrleansKafka.Bench.Cluster;
using OrleansKafka.Silo.Audit;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench.Chaos;

/// <summary>
/// <c>chaos</c>: three silo processes run one of the host's checking processors (<c>--form</c>: a
/// record processor, a key grain, a stream subscriber, a stateful record or a stateful batch
/// processor; <c>src/Silo/Audit</c>) over keyed records produced at a steady rate, while every round (10 s) a random silo is killed (SIGKILL) or
/// frozen (SIGSTOP, then SIGCONT) and replaced when it dies; or, in mode <c>graceful</c>, stopped
/// with SIGTERM and started again, or a partition moved by an operator (<see cref="GracefulFaults"/>);
/// or, in mode <c>partition</c>, the lease grain's silo cut off from the others by a real network
/// partition for <c>--cut-seconds</c>, every other round from the store too (<see cref="PartitionFaults"/>). The processor's start and end
/// events then show whether a record was lost, started out of offset order (per key for key grains
/// and streams), started by a stale owner after a newer one had begun, or (stateful forms) ended
/// with a state other than its partition's records applied once; any of those makes the exit code 1.
/// </summary>
internal static class ChaosScenario
{
    private const string Topic = "chaos";
    private const string Group = "chaos-audit";
    private const int Partitions = 12;
    private const int KeysPerPartition = 8;
    private const int Silos = 3;
    private const double MinRecordsPerSecond = 100;

    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(10);

    // A partition left this long without processing after a fault is worth a look, though not a failure.
    private static readonly TimeSpan LongGap = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ExitWatch = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan EventPollInterval = TimeSpan.FromMilliseconds(500);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var rounds = options.Rounds ?? 6;
        var records = options.Records ?? 30_000;
        var mode = options.Mode ?? "mixed";
        var form = options.Form ?? "processor";
        var cut = TimeSpan.FromSeconds(options.CutSeconds ?? 15);
        var freezes = ParseSeconds(options.FreezeSeconds ?? "1,5");
        if (rounds < 1 || records < 1 || mode is not ("kill" or "freeze" or "mixed" or "graceful" or "partition") || freezes is null || !AuditForms.Processors.ContainsKey(form) || cut <= TimeSpan.Zero)
        {
            Console.Error.WriteLine($"chaos: expected --rounds and --records of 1 or more, --mode kill, freeze, mixed, graceful or partition, --form {string.Join(", ", AuditForms.Processors.Keys)}, --cut-seconds above 0, and --freeze-seconds a comma-separated list of seconds above 0 and at most 3600, such as 1,5.");
            return 2;
        }

        if (mode == "partition" && !PartitionFaults.InNamespace)
        {
            if (PartitionFaults.Missing() is { } missing)
            {
                Console.Error.WriteLine(missing);
                return 2;
            }

            // The whole run, its cluster included, goes into a network namespace of its own.
            return await PartitionFaults.RunInNamespaceAsync();
        }

        var seed = options.Seed ?? Environment.TickCount;
        var directory = Directory.CreateTempSubdirectory("orleanskafka-chaos-").FullName;
        Report.Note(string.Create(
            CultureInfo.InvariantCulture,
            $"chaos: seed {seed} (repeat with --seed {seed}), mode {mode}, form {form}, {rounds} rounds{(mode is "freeze" or "mixed" ? $", freezes of {string.Join(", ", freezes.Select(f => f.TotalSeconds.ToString(CultureInfo.InvariantCulture)))} s in turn" : string.Empty)}; audit events in {directory}"));
        var (exitCode, keep) = (1, true);
        try
        {
            (exitCode, keep) = await RunClusterAsync(directory, rounds, records, mode, form, freezes, cut, seed, options.Keep);
            return exitCode;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(directory, recursive: true);
            }
            else
            {
                Report.Note($"{(exitCode != 0 ? "the run failed" : options.Keep ? "--keep" : "a partition waited long")}; the audit events and silo logs are kept in {directory}");
            }
        }
    }

    /// <returns>The exit code, and whether the events and logs are worth keeping.</returns>
    private static async Task<(int ExitCode, bool Keep)> RunClusterAsync(string directory, int rounds, int records, string mode, string form, TimeSpan[] freezes, TimeSpan cut, int seed, bool keepAlways)
    {
        var options = new SiloProcessClusterOptions { Silos = Silos };
        if (mode == "partition" && OperatingSystem.IsLinux())
        {
            // Each silo under a user id of its own, which the iptables rules tell apart; their event files go in the one folder.
            options.FirstSiloUid = PartitionFaults.FirstSiloUid;
            File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        }

        options.Topics[Topic] = Partitions;

        // The host's own processors are turned off, not removed: their topics stay as in every other run.
        options.Topics[ClusterRun.Source] = ClusterRun.Partitions;
        options.Topics[ClusterRun.Forwarded] = ClusterRun.Partitions;
        var processor = AuditForms.Processors[form];
        options.Settings[$"Kafka__Processors__{processor}__Topic"] = Topic;
        options.Settings[$"Kafka__Processors__{processor}__Group"] = Group;
        options.Settings["Kafka__Processors__order-totals__Enabled"] = "false";
        options.Settings["Kafka__Processors__customer-totals__Enabled"] = "false";
        options.Settings["Kafka__Processors__kafka__Enabled"] = "false";
        options.Settings["Kafka__Processors__forwarder__Enabled"] = "false";
        options.Settings["Audit__Directory"] = directory;

        // Production spans all the rounds.
        var roundLength = mode == "partition" ? cut + TimeSpan.FromSeconds(5) : RoundLength;
        var rate = Math.Max(MinRecordsPerSecond, records / (rounds * roundLength.TotalSeconds));
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        Report.Note(string.Create(
            CultureInfo.InvariantCulture,
            $"silos up: {string.Join(", ", Snapshot(cluster).Select(s => $"{s.Name} ({s.Endpoint})"))}; producing {records} records to {Topic} at {rate:0} records/s"));
        await using var producer = new ChaosProducer(cluster.BootstrapServers, Topic, Partitions, KeysPerPartition, records, rate);

        var random = new Random(seed);

        // Frozen silos whose exit is being watched; a watch replaces its silo if it exits.
        var watched = new ConcurrentDictionary<SiloProcess, bool>();
        var watches = new List<Task>();
        var freezeCount = 0;
        var faults = 0;

        // Half a round of undisturbed processing first, so that the first fault hits partitions
        // that are running rather than ones still being handed out.
        var next = Stopwatch.GetTimestamp() + Ticks(RoundLength / 2);
        for (var round = 1; round <= rounds; round++)
        {
            // A round that overran leaves no wait: the next starts at once.
            await DelayUntilAsync(next);
            next = Stopwatch.GetTimestamp() + Ticks(RoundLength);
            await TopUpAsync(cluster, watched, round);

            // A silo just thawed may be about to exit; prefer the others. A replacement still
            // starting is no victim: its start would fail under the watch that is waiting for it.
            var live = Snapshot(cluster).Where(s => !s.Process.HasExited && s.Process.Output.Any(l => l.Contains("Application started", StringComparison.Ordinal))).ToList();
            var candidates = live.Where(s => !watched.ContainsKey(s)).ToList();
            if (candidates.Count == 0)
            {
                candidates = live;
            }

            if (candidates.Count == 0)
            {
                throw new InvalidOperationException($"Round {round}: no silo is running, though {Silos} were started.");
            }

            if (mode == "partition")
            {
                if (live.Count < 2)
                {
                    // Replacements still starting: nobody to cut the silo off from.
                    Report.Note($"round {round}: only {string.Join(", ", live.Select(s => s.Name))} up; no partition this round");
                    continue;
                }

                var cutOff = LeaseGrainHost(candidates) ?? candidates[random.Next(candidates.Count)];
                var partition = await PartitionFaults.CutAsync(cutOff, [.. live.Where(s => s != cutOff)], cluster, cutStore: round % 2 == 0);
                try
                {
                    await Task.Delay(cut);
                }
                finally
                {
                    await PartitionFaults.HealAsync();
                }

                Report.Note(string.Create(CultureInfo.InvariantCulture, $"round {round}: {partition}, for {cut.TotalSeconds:0} s; healed"));

                // Declared dead meanwhile, it stops itself once it learns so: replaced then.
                watched[cutOff] = true;
                watches.Add(WatchThawedAsync(cluster, cutOff, round, watched, "heal"));
                continue;
            }

            if (mode == "graceful")
            {
                if (round % 2 == 0)
                {
                    Report.Note($"round {round}: {await GracefulFaults.MoveAsync(live, Group, Topic, Partitions, random)}");
                    continue;
                }

                var leaving = (faults++ % 4 == 1 ? LeaseGrainHost(candidates) : null) ?? candidates[random.Next(candidates.Count)];
                var stopped = await GracefulFaults.StopAsync(leaving);
                var started = await StartReplacementAsync(cluster);
                Report.Note($"round {round}: {stopped}; {started.Name} ({started.Endpoint}) started in its place");
                continue;
            }

            var kill = mode == "kill" || (mode == "mixed" && round % 2 == 1);
            var victim = candidates[random.Next(candidates.Count)];

            // Every other fault hits the silo that hosts the group's lease grain, if one is known:
            // the lease decisions themselves must survive a kill or a freeze, not only their holders.
            var leaseHost = faults++ % 2 == 1 ? LeaseGrainHost(candidates) : null;
            victim = leaseHost ?? victim;
            var what = leaseHost is null ? string.Empty : ", the lease grain's host";
            if (kill)
            {
                victim.Process.KillHard();
                var replacement = await StartReplacementAsync(cluster);
                Report.Note($"round {round}: killed {victim.Name} ({victim.Endpoint}{what}); {replacement.Name} ({replacement.Endpoint}) started in its place");
            }
            else
            {
                var freeze = freezes[freezeCount++ % freezes.Length];
                victim.Process.Freeze();
                try
                {
                    await Task.Delay(freeze);
                }
                finally
                {
                    victim.Process.Thaw();
                }

                Report.Note(string.Create(CultureInfo.InvariantCulture, $"round {round}: froze {victim.Name} ({victim.Endpoint}{what}) for {freeze.TotalSeconds:0.###} s"));

                // Watched in the background: a silo that survives would otherwise hold the round for the whole watch.
                watched[victim] = true;
                watches.Add(WatchThawedAsync(cluster, victim, round, watched, "thaw"));
            }
        }

        await Task.WhenAll(watches);
        await producer.Completion;
        var produced = producer.Delivered.ToHashSet();
        if (producer.Failed > 0)
        {
            Report.Note($"{producer.Failed} of {records} records were not confirmed by the broker and are left out; first reasons: {string.Join("; ", producer.Failures)}");
        }

        var drainFrom = Stopwatch.GetTimestamp();
        var drained = await Poll.UntilAsync(() => AllEnded(directory, produced), DrainTimeout, EventPollInterval);
        Report.Note(string.Create(
            CultureInfo.InvariantCulture,
            $"{(drained ? "every" : "not every")} produced record has ended {Stopwatch.GetElapsedTime(drainFrom).TotalSeconds:0.0} s after the last round and the production were over"));

        var report = ChaosReport.Analyse(ChaosEvents.ReadAll(directory), produced, Group, producer.FirstAt, producer.LastAt, orderPerKey: form is "keygrain" or "stream");
        report.Print();
        Report.Result("chaos.rounds", rounds);
        var keep = keepAlways || report.Failed || report.MaxGapSeconds > LongGap.TotalSeconds;
        if (keep)
        {
            // Kept beside the events for a post-mortem: what each silo logged, in start order.
            foreach (var silo in Snapshot(cluster))
            {
                await File.WriteAllLinesAsync(Path.Combine(directory, $"{silo.Name}.log"), silo.Process.Output);
            }
        }

        return (report.Failed ? 1 : 0, keep);
    }

    /// <summary>Starts silos until <see cref="Silos"/> run, for any that died on its own (not by the harness's hand).</summary>
    private static async Task TopUpAsync(SiloProcessCluster cluster, ConcurrentDictionary<SiloProcess, bool> watched, int round)
    {
        // A watched silo counts as running: if it exits, its watch starts its replacement.
        while (Snapshot(cluster).Count(s => !s.Process.HasExited || watched.ContainsKey(s)) < Silos)
        {
            var replacement = await StartReplacementAsync(cluster);
            Report.Note($"round {round}: a silo had exited on its own; {replacement.Name} ({replacement.Endpoint}) started to keep {Silos} running");
        }
    }

    /// <summary>After a thaw or a heal: replaces the silo if it exits within <see cref="ExitWatch"/>.</summary>
    private static async Task WatchThawedAsync(SiloProcessCluster cluster, SiloProcess silo, int round, ConcurrentDictionary<SiloProcess, bool> watched, string fault)
    {
        try
        {
            // Orleans stops a silo that learns, once thawed, that the cluster declared it dead meanwhile.
            var thawedAt = Stopwatch.GetTimestamp();
            if (await Poll.UntilAsync(() => silo.Process.HasExited, ExitWatch, TimeSpan.FromMilliseconds(100)))
            {
                var after = Stopwatch.GetElapsedTime(thawedAt).TotalSeconds;
                var replacement = await StartReplacementAsync(cluster);
                Report.Note(string.Create(
                    CultureInfo.InvariantCulture,
                    $"round {round}: {silo.Name} ({silo.Endpoint}) exited about {after:0.0} s after the {fault} with code {silo.Process.ExitCode}; {replacement.Name} ({replacement.Endpoint}) started in its place"));
            }
            else
            {
                Report.Note(string.Create(CultureInfo.InvariantCulture, $"round {round}: {silo.Name} ({silo.Endpoint}) still runs {ExitWatch.TotalSeconds:0} s after the {fault}"));
            }
        }
        finally
        {
            // Only now, with its replacement up: until then the top-up must not start one more.
            watched.TryRemove(silo, out _);
        }
    }

    /// <summary>
    /// Starts a silo; one that exits while starting is followed by another, up to three times. A
    /// joining silo can be voted dead by a member it cannot reach (in a network partition, the
    /// cut-off silo while the store still counts its vote): Orleans then ends it (exit code 134).
    /// </summary>
    private static async Task<SiloProcess> StartReplacementAsync(SiloProcessCluster cluster)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await cluster.StartSiloAsync();
            }
            catch (TimeoutException ex) when (attempt < 3)
            {
                Report.Note($"a silo did not start (attempt {attempt} of 3): {ex.Message.Split('\n')[0]}");
            }
        }
    }

    /// <summary>
    /// The silo whose log says it holds the audit group's lease grain: activated there and not
    /// deactivated since (each silo logs both). Null when none of <paramref name="silos"/> does.
    /// </summary>
    private static SiloProcess? LeaseGrainHost(IEnumerable<SiloProcess> silos)
    {
        var activated = $"Lease grain of consumer group {Group} activated";
        var deactivated = $"Lease grain of consumer group {Group} deactivated";
        return silos.FirstOrDefault(s =>
        {
            var lines = s.Process.Output.ToArray();
            return lines.Count(l => l.Contains(activated, StringComparison.Ordinal)) > lines.Count(l => l.Contains(deactivated, StringComparison.Ordinal));
        });
    }

    private static bool AllEnded(string directory, HashSet<(int Partition, long Offset)> produced)
    {
        var ended = ChaosEvents.ReadAll(directory)
            .Where(e => !e.IsStart && string.Equals(e.Group, Group, StringComparison.Ordinal))
            .Select(e => (e.Partition, e.Offset))
            .ToHashSet();
        return ended.IsSupersetOf(produced);
    }

    // A copy, not an enumeration of the cluster's list: a watch may be adding a replacement to it
    // at the same moment, and ToArray copies a list without the enumerator's modification check.
    private static SiloProcess[] Snapshot(SiloProcessCluster cluster) => cluster.Silos.ToArray();

    private static TimeSpan[]? ParseSeconds(string list)
    {
        var seconds = new List<TimeSpan>();
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value is not (> 0 and <= 3600))
            {
                return null;
            }

            seconds.Add(TimeSpan.FromSeconds(value));
        }

        return seconds.Count > 0 ? [.. seconds] : null;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static async Task DelayUntilAsync(long timestamp)
    {
        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }
    }
}
