using System.Globalization;

namespace OrleansKafka.LeaseGrain;

/// <summary>
/// Placement by measured load: which silo should own each partition when the lease grain balances
/// the partitions' cost rather than their number (<c>Kafka:Placement:Strategy = Load</c>).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Place"/> is sticky: an operator's move, then a move this class planned, then the
/// current owner keep a partition where it is; only a partition without a live owner (new, or its
/// owner left or died), or whose home silo is back, is placed, on its home silo or else the one
/// whose load (over its weight) stays lowest. Standbys (weight 0) are used as with count-based
/// placement: only while no silo of a higher weight is live.
/// </para>
/// <para>
/// <see cref="Plan"/> then moves partitions, one at a time, from the most loaded silo to the least
/// loaded one while that narrows the gap by more than the tolerance: a partition of cost c moves
/// only if the two silos' loads differ by more than c plus the margin, so the move back cannot
/// follow unless the loads change by twice the margin; a rebalance moves at most its budget.
/// <see cref="Join"/> fills a silo that holds nothing (it just joined) at once, by number.
/// </para>
/// </remarks>
internal static class LoadAssignment
{
    /// <summary>A planned move, with the figures that made it (loads in busy seconds a second, over the silo's weight).</summary>
    public sealed record Move(TopicPartitionKey Partition, string From, string To, double Cost, double FromLoad, double ToLoad, bool Joining = false, string? IntoZone = null)
    {
        public string Describe() =>
            Joining ? string.Create(CultureInfo.InvariantCulture, $"{To} holds nothing: its share by number, from {From} at {FromLoad:0.###} busy s/s")
            : IntoZone is not null ? string.Create(CultureInfo.InvariantCulture, $"into zone {IntoZone}, its leader's (a swap, loads {FromLoad:0.###} and {ToLoad:0.###} busy s/s)")
            : string.Create(CultureInfo.InvariantCulture, $"partition cost {Cost:0.###} busy s/s, from {From} at {FromLoad:0.###} to {To} at {ToLoad:0.###}");
    }

    /// <summary>Each silo's zone and each partition's leader's zone (null when unknown): placement prefers a silo in the leader's zone where the load allows.</summary>
    public sealed record Zones(Func<string, string?> Silo, Func<TopicPartitionKey, string?> Leader)
    {
        public static readonly Zones None = new(_ => null, _ => null);

        /// <summary>Whether <paramref name="silo"/> is in the zone of <paramref name="partition"/>'s leader.</summary>
        public bool In(TopicPartitionKey partition, string silo) => Leader(partition) is { } zone && Silo(silo) == zone;
    }

    public static Dictionary<TopicPartitionKey, string> Place(
        IReadOnlyCollection<string> silos,
        IEnumerable<TopicPartitionKey> partitions,
        Func<TopicPartitionKey, string?> owner,
        Func<TopicPartitionKey, string?> home,
        Func<string, int> weight,
        Func<TopicPartitionKey, string?> pinned,
        Func<TopicPartitionKey, string?> planned,
        Func<TopicPartitionKey, double> cost,
        Zones? zones = null)
    {
        zones ??= Zones.None;
        var result = new Dictionary<TopicPartitionKey, string>();
        if (silos.Count == 0)
        {
            return result;
        }

        var weights = Weights(silos, weight);
        var load = weights.Keys.ToDictionary(s => s, _ => 0.0, StringComparer.Ordinal);
        bool Eligible(string? silo) => silo is not null && weights.TryGetValue(silo, out var w) && w > 0;
        var unplaced = new List<TopicPartitionKey>();
        foreach (var partition in partitions.Order())
        {
            var current = owner(partition);
            var back = home(partition) is { } h && h != current && Eligible(h);
            var target = pinned(partition) is { } pin && weights.ContainsKey(pin) ? pin
                : planned(partition) is { } plan && Eligible(plan) ? plan
                : Eligible(current) && !back ? current
                : null;
            if (target is null)
            {
                unplaced.Add(partition);
                continue;
            }

            result[partition] = target;
            load[target] += cost(partition);
        }

        // The costliest first, each where the load stays lowest, or in its leader's zone when that
        // costs at most the partition itself: a restarted silo gets its own back.
        foreach (var partition in unplaced.OrderByDescending(cost).ThenBy(p => p))
        {
            double After(string s) => (load[s] + cost(partition)) / weights[s];
            var ordered = weights.Keys.Where(s => weights[s] > 0)
                .OrderBy(After)
                .ThenBy(s => result.Values.Count(v => v == s))
                .ThenBy(s => s, StringComparer.Ordinal)
                .ToList();
            var inZone = ordered.FirstOrDefault(s => zones.In(partition, s));
            var target = home(partition) is { } h && Eligible(h) ? h
                : inZone is not null && After(inZone) <= After(ordered[0]) + (cost(partition) / weights[inZone]) ? inZone
                : ordered[0];
            result[partition] = target;
            load[target] += cost(partition);
        }

        return result;
    }

    public static List<Move> Plan(
        IReadOnlyDictionary<TopicPartitionKey, string> placed,
        IReadOnlyCollection<string> silos,
        Func<string, int> weight,
        Func<TopicPartitionKey, bool> pinned,
        Func<TopicPartitionKey, double> cost,
        int maxMoves,
        double tolerance,
        Zones? zones = null)
    {
        zones ??= Zones.None;
        var moves = new List<Move>();
        var weights = Weights(silos, weight);
        var eligible = weights.Keys.Where(s => weights[s] > 0).Order(StringComparer.Ordinal).ToArray();
        if (eligible.Length < 2)
        {
            return moves;
        }

        var assignment = placed.Where(kv => weights.GetValueOrDefault(kv.Value) > 0).ToDictionary(kv => kv.Key, kv => kv.Value);
        var load = eligible.ToDictionary(s => s, s => assignment.Where(kv => kv.Value == s).Sum(kv => cost(kv.Key)), StringComparer.Ordinal);
        var margin = tolerance * load.Values.Sum() / eligible.Sum(s => weights[s]);
        double Level(string s) => load[s] / weights[s];
        var budget = maxMoves;
        for (var step = 0; step < assignment.Count; step++)
        {
            var from = eligible.OrderByDescending(Level).ThenBy(s => s, StringComparer.Ordinal).First();
            var to = eligible.OrderBy(Level).ThenBy(s => s, StringComparer.Ordinal).First();
            if (from == to || budget == 0)
            {
                break;
            }

            // The partition whose move leaves the higher of the two silos lowest.
            var candidate = assignment
                .Where(kv => kv.Value == from && !pinned(kv.Key) && moves.All(m => m.Partition != kv.Key))
                .Select(kv => kv.Key)
                .OrderBy(p => Math.Max((load[from] - cost(p)) / weights[from], (load[to] + cost(p)) / weights[to]))
                .ThenBy(p => zones.In(p, to) ? 0 : 1)
                .ThenBy(p => zones.In(p, from) ? 1 : 0)
                .ThenBy(p => p)
                .Cast<TopicPartitionKey?>()
                .FirstOrDefault();
            if (candidate is not { } partition || ((load[to] + cost(partition)) / weights[to]) + margin > Level(from))
            {
                break;
            }

            moves.Add(new Move(partition, from, to, cost(partition), Level(from), Level(to)));
            budget--;
            load[from] -= cost(partition);
            load[to] += cost(partition);
            assignment[partition] = to;
        }

        SwapIntoZones(assignment, load, weights, eligible, pinned, cost, margin, budget, zones, moves);
        return moves;
    }

    /// <summary>
    /// With the budget left, two at a time: a partition on a silo outside its leader's zone trades
    /// places with one on a silo in that zone that is not in its own leader's zone there, when the
    /// gap between the two silos' loads stays within the margin (or does not grow).
    /// </summary>
    private static void SwapIntoZones(
        Dictionary<TopicPartitionKey, string> assignment,
        Dictionary<string, double> load,
        Dictionary<string, int> weights,
        string[] eligible,
        Func<TopicPartitionKey, bool> pinned,
        Func<TopicPartitionKey, double> cost,
        double margin,
        int budget,
        Zones zones,
        List<Move> moves)
    {
        bool Free(TopicPartitionKey p) => !pinned(p) && moves.All(m => m.Partition != p);
        foreach (var p in assignment.Keys.Order().ToList())
        {
            var a = assignment[p];
            if (budget < 2 || !Free(p) || zones.Leader(p) is null || zones.In(p, a))
            {
                continue;
            }

            foreach (var b in eligible.Where(s => s != a && zones.In(p, s)))
            {
                double Gap(double shift) => Math.Abs(((load[a] - shift) / weights[a]) - ((load[b] + shift) / weights[b]));
                var q = assignment.Where(kv => kv.Value == b && kv.Key.Topic == p.Topic && Free(kv.Key) && !zones.In(kv.Key, b))
                    .Select(kv => kv.Key)
                    .OrderBy(x => zones.In(x, a) ? 0 : 1)
                    .ThenBy(x => Math.Abs(cost(x) - cost(p)))
                    .ThenBy(x => x)
                    .Cast<TopicPartitionKey?>()
                    .FirstOrDefault();
                if (q is not { } other || Gap(cost(p) - cost(other)) > Math.Max(Gap(0), margin))
                {
                    continue;
                }

                var shift = cost(p) - cost(other);
                moves.Add(new Move(p, a, b, cost(p), load[a] / weights[a], load[b] / weights[b], IntoZone: zones.Leader(p)));
                moves.Add(new Move(other, b, a, cost(other), load[b] / weights[b], load[a] / weights[a], IntoZone: zones.Leader(other) == zones.Silo(a) ? zones.Leader(other) : null));
                (load[a], load[b]) = (load[a] - shift, load[b] + shift);
                (assignment[p], assignment[other]) = (b, a);
                budget -= 2;
                break;
            }
        }
    }

    /// <summary>
    /// The moves that give silos holding nothing (they just joined, or stopped being standbys)
    /// their share by number, as count-based placement would, taken from the silos above theirs:
    /// a join fills a silo at once and the partitions stay spread by number as before; the
    /// rebalances by load that follow even out the cost.
    /// </summary>
    public static List<Move> Join(
        IReadOnlyDictionary<TopicPartitionKey, string> placed,
        IReadOnlyCollection<string> silos,
        Func<string, int> weight,
        Func<TopicPartitionKey, string?> pinned,
        Func<TopicPartitionKey, double> cost,
        Zones? zones = null)
    {
        zones ??= Zones.None;
        var weights = Weights(silos, weight);
        var empty = weights.Keys.Where(s => weights[s] > 0 && !placed.Values.Contains(s)).ToHashSet(StringComparer.Ordinal);
        if (empty.Count == 0 || placed.Count == 0)
        {
            return [];
        }

        var byCount = LeaseAssignment.Compute(silos, placed.Keys, p => placed[p], weight: s => weights[s], pinned: pinned);
        double Level(string s) => placed.Where(kv => kv.Value == s).Sum(kv => cost(kv.Key)) / weights[s];
        List<Move> moves = [.. byCount.Where(kv => empty.Contains(kv.Value) && placed[kv.Key] != kv.Value)
            .Select(kv => new Move(kv.Key, placed[kv.Key], kv.Value, cost(kv.Key), Level(placed[kv.Key]), 0, Joining: true))];

        // Which of a silo's partitions go: those whose leader is in the joining silo's zone, where it has them.
        for (var i = 0; i < moves.Count; i++)
        {
            var move = moves[i];
            if (!zones.In(move.Partition, move.To)
                && placed.Keys.Where(q => placed[q] == move.From && q.Topic == move.Partition.Topic && pinned(q) is null && zones.In(q, move.To) && moves.All(m => m.Partition != q))
                    .Order().Cast<TopicPartitionKey?>().FirstOrDefault() is { } instead)
            {
                moves[i] = move with { Partition = instead, Cost = cost(instead) };
            }
        }

        return moves;
    }

    /// <summary>The silos' weights (at least 0); when every live silo is a standby, they share the work as equals.</summary>
    private static Dictionary<string, int> Weights(IReadOnlyCollection<string> silos, Func<string, int> weight)
    {
        var weights = silos.ToDictionary(s => s, s => Math.Max(0, weight(s)), StringComparer.Ordinal);
        if (weights.Values.All(w => w == 0))
        {
            foreach (var silo in silos)
            {
                weights[silo] = 1;
            }
        }

        return weights;
    }
}
