using System.Diagnostics;
using System.Globalization;

namespace OrleansKafka.Bench.Chaos;

/// <summary>
/// What the audit events of a chaos run say, per partition of the audited consumer group and in
/// total: records lost, repeated, started out of offset order (per partition, or per key for the
/// forms that promise only that), started by a stale owner after a newer one had begun, or, for
/// the stateful forms, ended with a state that does not match the records up to them. A pure function of the events and the produced records, so that it can
/// be tested without a cluster.
/// </summary>
internal sealed class ChaosReport
{
    private const int MaxExamples = 5;

    private ChaosReport()
    {
    }

    /// <summary>Records the broker confirmed.</summary>
    public int Produced { get; private init; }

    /// <summary>Distinct records (partition and offset) with an end event.</summary>
    public int Processed { get; private init; }

    /// <summary>Produced records with no end event.</summary>
    public int Lost { get; private init; }

    /// <summary>End events beyond the first of each record: repeats, expected with at-least-once after a fault.</summary>
    public int Duplicates { get; private init; }

    /// <summary>Records first started after a higher offset of their partition had already been started.</summary>
    public int OrderViolations { get; private init; }

    /// <summary>End events of a stateful form whose state is not every record of the partition up to theirs applied once; -1 when no event carried a state.</summary>
    public int StateMismatches { get; private init; } = -1;

    /// <summary>Windows in which an owner under an older lease epoch started records after the owner under a newer epoch had started.</summary>
    public int Overlaps { get; private init; }

    /// <summary>The records started in the <see cref="Overlaps"/> windows.</summary>
    public int OverlapRecords { get; private init; }

    /// <summary>Records started before a newer epoch's first start and ended after it: being processed when the owner froze or lost its lease.</summary>
    public int InflightAtHandover { get; private init; }

    /// <summary>The longest time between consecutive starts on one partition while records were produced, in seconds.</summary>
    public double MaxGapSeconds { get; private init; }

    /// <summary>One line per partition with its figures.</summary>
    public IReadOnlyList<string> Partitions { get; private init; } = [];

    /// <summary>Up to five lost records.</summary>
    public IReadOnlyList<string> LostExamples { get; private init; } = [];

    /// <summary>Up to five order violations.</summary>
    public IReadOnlyList<string> OrderExamples { get; private init; } = [];

    /// <summary>Up to five state mismatches.</summary>
    public IReadOnlyList<string> StateExamples { get; private init; } = [];

    /// <summary>Up to five overlap windows.</summary>
    public IReadOnlyList<string> OverlapExamples { get; private init; } = [];

    /// <summary>True when a record was lost, started out of order, started by a stale owner, or ended with a wrong state.</summary>
    public bool Failed => Lost > 0 || OrderViolations > 0 || Overlaps > 0 || StateMismatches > 0;

    /// <summary>Analyses the events of <paramref name="group"/> against the produced records.</summary>
    /// <param name="events">Every event read, of any group.</param>
    /// <param name="produced">Where each produced record landed.</param>
    /// <param name="group">The audited consumer group.</param>
    /// <param name="producedFrom">When the first record was produced (<see cref="Stopwatch.GetTimestamp"/> ticks, the clock of the events).</param>
    /// <param name="producedTo">When the last record was produced.</param>
    /// <param name="orderPerKey">
    /// Check offset order per key rather than per partition: key grains and streams run the
    /// records of different keys of a partition at once, and promise the order of each key.
    /// </param>
    public static ChaosReport Analyse(IReadOnlyCollection<ChaosEvent> events, IReadOnlyCollection<(int Partition, long Offset)> produced, string group, long producedFrom, long producedTo, bool orderPerKey = false)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(produced);
        string At(long timestamp) => string.Create(CultureInfo.InvariantCulture, $"t+{Stopwatch.GetElapsedTime(producedFrom, timestamp).TotalSeconds:0.000} s");

        var audited = events.Where(e => string.Equals(e.Group, group, StringComparison.Ordinal)).ToList();
        var producedSet = produced.ToHashSet();
        var endCounts = audited.Where(e => !e.IsStart)
            .GroupBy(e => (e.Partition, e.Offset))
            .ToDictionary(g => g.Key, g => g.Count());

        // The end events of one processing of a record: same record, epoch and silo.
        var endTimes = audited.Where(e => !e.IsStart)
            .GroupBy(e => (e.Partition, e.Offset, e.Epoch, e.Silo))
            .ToDictionary(g => g.Key, g => g.Select(e => e.Timestamp).Order().ToList());
        var startsByPartition = audited.Where(e => e.IsStart)
            .GroupBy(e => e.Partition)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Timestamp).ThenBy(e => e.Offset).ToList());

        var lines = new List<string>();
        var lostExamples = new List<string>();
        var orderExamples = new List<string>();
        var stateExamples = new List<string>();
        var overlapExamples = new List<string>();
        int lost = 0, duplicates = 0, orderViolations = 0, overlaps = 0, overlapRecords = 0, inflight = 0, stateMismatches = 0;
        var stated = false;
        var maxGap = 0.0;
        foreach (var partition in producedSet.Select(r => r.Partition).Concat(audited.Select(e => e.Partition)).Distinct().Order())
        {
            var starts = startsByPartition.TryGetValue(partition, out var found) ? found : new List<ChaosEvent>();

            // Lost: produced, never ended.
            var partitionLost = producedSet.Where(r => r.Partition == partition && !endCounts.ContainsKey(r)).Order().ToList();
            foreach (var (_, offset) in partitionLost.Take(MaxExamples - lostExamples.Count))
            {
                var started = starts.Where(s => s.Offset == offset).ToList();
                lostExamples.Add(started.Count == 0
                    ? $"lost: partition {partition} offset {offset} was never started"
                    : $"lost: partition {partition} offset {offset} was started {started.Count} time(s), last on {started[^1].Silo} under epoch {started[^1].Epoch} at {At(started[^1].Timestamp)}, and never ended");
            }

            var partitionDuplicates = endCounts.Where(c => c.Key.Partition == partition).Sum(c => c.Value - 1);

            // Order: an offset started for the first time below one already started (of its
            // partition, or of its key) skipped ahead and came back.
            // Per key also, under each epoch: a start that breaks the key's order (KeyRunOrder: a
            // record first started below one of its key already started, or a replay that skips
            // what the key had reached: a stale call that was queued at a frozen silo's grain and
            // ran after the key's next records). A unit resent after its grain's silo froze
            // replays the key in order and is a duplicate, not a reorder. A newer epoch starts the
            // key afresh; an older epoch is an overlap, counted below.
            var partitionOrder = 0;
            var seen = new HashSet<long>();
            var highest = new Dictionary<string, long>(StringComparer.Ordinal);
            var keyOrders = new Dictionary<string, (long Epoch, KeyRunOrder Order)>(StringComparer.Ordinal);
            foreach (var start in starts)
            {
                if (orderPerKey)
                {
                    if (!keyOrders.TryGetValue(start.Key, out var key) || start.Epoch > key.Epoch)
                    {
                        key = (start.Epoch, new KeyRunOrder());
                        keyOrders[start.Key] = key;
                    }

                    if (start.Epoch == key.Epoch)
                    {
                        var (reached, expected) = (key.Order.Highest, key.Order.ReplayExpects);
                        if (!key.Order.Start(start.Offset))
                        {
                            partitionOrder++;
                            if (orderExamples.Count < MaxExamples)
                            {
                                orderExamples.Add(expected is { } next
                                    ? $"order: partition {partition} key {start.Key} offset {start.Offset} started on {start.Silo} under epoch {start.Epoch} at {At(start.Timestamp)} while the key's records replayed up to offset {reached} had reached offset {next} only"
                                    : $"order: partition {partition} key {start.Key} offset {start.Offset} started on {start.Silo} under epoch {start.Epoch} at {At(start.Timestamp)}, after offset {reached} of the key had started under that epoch");
                            }

                            continue;
                        }
                    }
                }

                if (!seen.Add(start.Offset))
                {
                    continue;
                }

                var scope = orderPerKey ? start.Key : string.Empty;
                if (highest.TryGetValue(scope, out var above) && start.Offset < above)
                {
                    partitionOrder++;
                    if (orderExamples.Count < MaxExamples)
                    {
                        orderExamples.Add($"order: partition {partition}{(orderPerKey ? $" key {start.Key}" : string.Empty)} offset {start.Offset} first started on {start.Silo} under epoch {start.Epoch} at {At(start.Timestamp)}, after offset {above} had started");
                    }
                }
                else
                {
                    highest[scope] = start.Offset;
                }
            }

            // A replay still short of what its key had reached when the run ended: a stale call
            // after the key's last records.
            foreach (var (key, (epoch, order)) in keyOrders.Where(k => k.Value.Order.ReplayExpects is not null))
            {
                partitionOrder++;
                if (orderExamples.Count < MaxExamples)
                {
                    orderExamples.Add($"order: partition {partition} key {key} under epoch {epoch}: records replayed after offset {order.Highest} had started stopped short of offset {order.ReplayExpects}");
                }
            }

            // Overlap: a start under an older epoch after the newest epoch's first start. Consecutive
            // stale starts under one epoch are one window: one stale owner running on for a while.
            var windows = new List<(ChaosEvent First, ChaosEvent Last, int Records, ChaosEvent Newer)>();
            ChaosEvent? newest = null;
            foreach (var start in starts)
            {
                if (newest is not { } current || start.Epoch > current.Epoch)
                {
                    newest = start;
                }
                else if (start.Epoch < current.Epoch)
                {
                    if (windows.Count > 0 && windows[^1].First.Epoch == start.Epoch)
                    {
                        var window = windows[^1];
                        windows[^1] = (window.First, start, window.Records + 1, window.Newer);
                    }
                    else
                    {
                        windows.Add((start, start, 1, current));
                    }
                }
            }

            foreach (var (first, last, records, newer) in windows.Take(MaxExamples - overlapExamples.Count))
            {
                overlapExamples.Add(
                    $"overlap: partition {partition}: {first.Silo} under epoch {first.Epoch} started {records} record(s), offsets {first.Offset}-{last.Offset}, from {At(first.Timestamp)} to {At(last.Timestamp)}, after {newer.Silo} had started offset {newer.Offset} under epoch {newer.Epoch} at {At(newer.Timestamp)}");
            }

            // In flight at a hand-over: started before a newer epoch's first start, ended after it.
            var firstOfEpoch = new List<ChaosEvent>();
            var epochs = new HashSet<long>();
            foreach (var start in starts)
            {
                if (epochs.Add(start.Epoch))
                {
                    firstOfEpoch.Add(start);
                }
            }

            var partitionInflight = 0;
            foreach (var start in starts)
            {
                if (!endTimes.TryGetValue((start.Partition, start.Offset, start.Epoch, start.Silo), out var ends))
                {
                    continue;
                }

                var end = ends.FirstOrDefault(t => t >= start.Timestamp, long.MinValue);
                if (end != long.MinValue && firstOfEpoch.Any(f => f.Epoch > start.Epoch && f.Timestamp > start.Timestamp && f.Timestamp < end))
                {
                    partitionInflight++;
                }
            }

            // Gap: only while records were produced, so neither the start-up nor the drain counts.
            var during = starts.Where(s => s.Timestamp >= producedFrom && s.Timestamp <= producedTo).ToList();
            var gap = 0.0;
            for (var i = 1; i < during.Count; i++)
            {
                gap = Math.Max(gap, Stopwatch.GetElapsedTime(during[i - 1].Timestamp, during[i].Timestamp).TotalSeconds);
            }

            // State: on a topic that starts at offset 0, every record up to offset N applied once
            // is a count of N + 1 and an offset sum of N(N + 1)/2.
            var partitionState = 0;
            foreach (var end in audited.Where(e => !e.IsStart && e.Partition == partition && e.State is not null))
            {
                stated = true;
                var expected = string.Create(CultureInfo.InvariantCulture, $"{end.Offset + 1}:{end.Offset * (end.Offset + 1) / 2}");
                if (!string.Equals(end.State, expected, StringComparison.Ordinal))
                {
                    partitionState++;
                    if (stateExamples.Count < MaxExamples)
                    {
                        stateExamples.Add($"state: partition {partition} offset {end.Offset} ended on {end.Silo} under epoch {end.Epoch} at {At(end.Timestamp)} with count:offset-sum {end.State}; every record up to it applied once is {expected}");
                    }
                }
            }

            var partitionOverlapRecords = windows.Sum(w => w.Records);
            lines.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"partition {partition}: produced {producedSet.Count(r => r.Partition == partition)}, lost {partitionLost.Count}, duplicates {partitionDuplicates}, order violations {partitionOrder}, overlaps {windows.Count} ({partitionOverlapRecords} records), in flight at hand-over {partitionInflight}, epochs {firstOfEpoch.Count}, longest gap {gap:0.000} s{(partitionState > 0 ? $", state mismatches {partitionState}" : string.Empty)}"));
            lost += partitionLost.Count;
            duplicates += partitionDuplicates;
            orderViolations += partitionOrder;
            overlaps += windows.Count;
            overlapRecords += partitionOverlapRecords;
            inflight += partitionInflight;
            stateMismatches += partitionState;
            maxGap = Math.Max(maxGap, gap);
        }

        return new ChaosReport
        {
            Produced = producedSet.Count,
            Processed = endCounts.Count,
            Lost = lost,
            Duplicates = duplicates,
            OrderViolations = orderViolations,
            StateMismatches = stated ? stateMismatches : -1,
            StateExamples = stateExamples,
            Overlaps = overlaps,
            OverlapRecords = overlapRecords,
            InflightAtHandover = inflight,
            MaxGapSeconds = maxGap,
            Partitions = lines,
            LostExamples = lostExamples,
            OrderExamples = orderExamples,
            OverlapExamples = overlapExamples,
        };
    }

    /// <summary>Prints the partitions and examples as notes, then the totals as results.</summary>
    public void Print()
    {
        Report.Note("times below are seconds after the first record was produced");
        foreach (var line in Partitions.Concat(LostExamples).Concat(OrderExamples).Concat(OverlapExamples).Concat(StateExamples))
        {
            Report.Note(line);
        }

        Report.Result("chaos.produced", Produced);
        Report.Result("chaos.processed", Processed);
        Report.Result("chaos.lost", Lost);
        Report.Result("chaos.duplicates", Duplicates);
        Report.Result("chaos.order_violations", OrderViolations);
        Report.Result("chaos.overlaps", Overlaps);
        Report.Result("chaos.overlap_records", OverlapRecords);
        Report.Result("chaos.inflight_at_handover", InflightAtHandover);
        Report.Result("chaos.max_gap_s", MaxGapSeconds);
        if (StateMismatches >= 0)
        {
            Report.Result("chaos.state_mismatches", StateMismatches);
        }
    }
}
