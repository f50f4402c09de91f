namespace OrleansKafka.LeaseGrain;

/// <summary>
/// Computes which silo should own each partition: balanced per topic (in proportion to the
/// silos' weights; counts differ by at most one between silos of equal weight), sticky (a partition stays with a live owner that is within its quota), and spreading
/// the surplus partitions of uneven topics over different silos. A partition whose home silo
/// (the one that held it before leaving or dying) is live again is the first its current owner
/// gives up, and goes back to that silo: a restarted silo gets its own partitions back. A silo
/// of weight 0 is a standby: it gets partitions only while no silo of a higher weight is live.
/// </summary>
internal static class LeaseAssignment
{
    public static Dictionary<TopicPartitionKey, string> Compute(
        IReadOnlyCollection<string> silos,
        IEnumerable<TopicPartitionKey> partitions,
        Func<TopicPartitionKey, string?> currentOwner,
        Func<TopicPartitionKey, string?>? home = null,
        Func<string, int>? weight = null,
        Func<TopicPartitionKey, string?>? pinned = null)
    {
        home ??= _ => null;
        pinned ??= _ => null;
        var result = new Dictionary<TopicPartitionKey, string>();
        if (silos.Count == 0)
        {
            return result;
        }

        var ordered = silos.Order(StringComparer.Ordinal).ToArray();
        var totals = ordered.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        var weights = ordered.ToDictionary(s => s, s => Math.Max(0, weight?.Invoke(s) ?? 1), StringComparer.Ordinal);
        if (weights.Values.All(w => w == 0))
        {
            // Only standbys are live: they share the work as equals.
            foreach (var silo in ordered)
            {
                weights[silo] = 1;
            }
        }

        foreach (var topic in partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            AssignTopic([.. topic.Order()], ordered, weights, totals, currentOwner, home, pinned, result);
        }

        return result;
    }

    private static void AssignTopic(
        TopicPartitionKey[] partitions,
        string[] silos,
        Dictionary<string, int> weights,
        Dictionary<string, int> totals,
        Func<TopicPartitionKey, string?> currentOwner,
        Func<TopicPartitionKey, string?> home,
        Func<TopicPartitionKey, string?> pinned,
        Dictionary<TopicPartitionKey, string> result)
    {
        bool HomeElsewhere(TopicPartitionKey p, string owner) => home(p) is { } h && h != owner && Array.IndexOf(silos, h) >= 0;

        // Each silo's share rounded down; the partitions left over go one each to silos that can take work.
        var totalWeight = silos.Sum(s => weights[s]);
        var floor = silos.ToDictionary(s => s, s => partitions.Length * weights[s] / totalWeight, StringComparer.Ordinal);
        var remainder = silos.ToDictionary(s => s, s => partitions.Length * weights[s] % totalWeight, StringComparer.Ordinal);
        var surplus = partitions.Length - floor.Values.Sum();
        var counts = silos.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        bool MayTakeExtra(string silo) => counts[silo] == floor[silo] && surplus > 0 && weights[silo] > 0;

        // An operator's move first: a pinned partition stays on its live silo, and counts towards its share.
        foreach (var partition in partitions)
        {
            if (pinned(partition) is { } pin && counts.ContainsKey(pin))
            {
                if (counts[pin] == floor[pin] && surplus > 0)
                {
                    surplus--;
                }

                counts[pin]++;
                result[partition] = pin;
            }
        }

        // Silos that already hold more than the floor keep one extra first, so that a change moves the fewest partitions.
        var held = partitions.Where(p => !result.ContainsKey(p)).Select(p => (Partition: p, Owner: currentOwner(p)))
            .Where(x => x.Owner is not null && counts.ContainsKey(x.Owner))
            .GroupBy(x => x.Owner!, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal);
        var unassigned = new List<TopicPartitionKey>();
        foreach (var owner in held)
        {
            // Partitions whose home silo is back are kept last, so they are the ones given up.
            foreach (var (partition, _) in owner.OrderBy(x => HomeElsewhere(x.Partition, owner.Key) ? 1 : 0))
            {
                if (counts[owner.Key] < floor[owner.Key] || MayTakeExtra(owner.Key))
                {
                    if (counts[owner.Key] == floor[owner.Key])
                    {
                        surplus--;
                    }

                    counts[owner.Key]++;
                    result[partition] = owner.Key;
                }
                else
                {
                    unassigned.Add(partition);
                }
            }
        }

        unassigned.AddRange(partitions.Where(p => !result.ContainsKey(p)).Except(unassigned));
        unassigned.Sort();
        foreach (var partition in unassigned)
        {
            // Home first if it has room; then fill silos below the floor; the surplus goes to the silos with the fewest partitions overall.
            // Pins beyond a silo's share can leave no silo with room: then the least loaded takes it.
            var target = silos
                .Where(s => counts[s] < floor[s] || MayTakeExtra(s))
                .OrderBy(s => s == home(partition) ? 0 : 1)
                .ThenBy(s => counts[s] < floor[s] ? 0 : 1)
                .ThenByDescending(s => remainder[s])
                .ThenBy(s => (double)(totals[s] + counts[s]) / weights[s])
                .ThenBy(s => s, StringComparer.Ordinal)
                .FirstOrDefault()
                ?? silos.Where(s => weights[s] > 0).DefaultIfEmpty(silos[0]).MinBy(s => (double)counts[s] / Math.Max(1, weights[s]))!;
            if (counts[target] == floor[target])
            {
                surplus--;
            }

            counts[target]++;
            result[partition] = target;
        }

        foreach (var (silo, count) in counts)
        {
            totals[silo] += count;
        }
    }
}
