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
    public sealed record Move(TopicPartitionKey Partition, string From, string To, double Cost, double FromLoad, double ToLoad, bool Joining = false)
    {
        public string Describe() => Joining
            ? string.Create(CultureInfo.InvariantCulture, $"{To} holds nothing: its share by number, from {From} at {FromLoad:0.###} busy s/s")
            : string.Create(CultureInfo.InvariantCulture, $"partition cost {Cost:0.###} busy s/s, from {From} at {FromLoad:0.###} to {To} at {ToLoad:0.###}");
    }

    public static Dictionary<TopicPartitionKey, string> Place(
        IReadOnlyCollection<string> silos,
        IEnumerable<TopicPartitionKey> partitions,
        Func<TopicPartitionKey, string?> owner,
        Func<TopicPartitionKey, string?> home,
        Func<string, int> weight,
        Func<TopicPartitionKey, string?> pinned,
        Func<TopicPartitionKey, string?> planned,
        Func<TopicPartitionKey, double> cost)
    {
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

        // The costliest first, each where the load stays lowest: a restarted silo gets its own back.
        foreach (var partition in unplaced.OrderByDescending(cost).ThenBy(p => p))
        {
            var target = home(partition) is { } h && Eligible(h) ? h
                : weights.Keys.Where(s => weights[s] > 0)
                    .OrderBy(s => (load[s] + cost(partition)) / weights[s])
                    .ThenBy(s => result.Values.Count(v => v == s))
                    .ThenBy(s => s, StringComparer.Ordinal)
                    .First();
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
        double tolerance)
    {
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

        return moves;
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
        Func<TopicPartitionKey, double> cost)
    {
        var weights = Weights(silos, weight);
        var empty = weights.Keys.Where(s => weights[s] > 0 && !placed.Values.Contains(s)).ToHashSet(StringComparer.Ordinal);
        if (empty.Count == 0 || placed.Count == 0)
        {
            return [];
        }

        var byCount = LeaseAssignment.Compute(silos, placed.Keys, p => placed[p], weight: s => weights[s], pinned: pinned);
        double Level(string s) => placed.Where(kv => kv.Value == s).Sum(kv => cost(kv.Key)) / weights[s];
        return [.. byCount.Where(kv => empty.Contains(kv.Value) && placed[kv.Key] != kv.Value)
            .Select(kv => new Move(kv.Key, placed[kv.Key], kv.Value, cost(kv.Key), Level(placed[kv.Key]), 0, Joining: true))];
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
