using OrleansKafka.Configuration;
using OrleansKafka.Leasing;

namespace OrleansKafka.LeaseGrain;

/// <summary>
/// Which silo each partition of a group should be owned by, by count (<see cref="LeaseAssignment"/>)
/// or by measured load (<see cref="LoadAssignment"/>), and when a rebalance by load runs.
/// </summary>
/// <remarks>
/// A rebalance runs when nothing is moving (every partition owned where it should be, its grant
/// delivered and not being revoked): every <see cref="PlacementOptions.RebalanceInterval"/>, and at
/// once when the live silos or their weights change, so that a joining silo gets its share by
/// number without waiting (<see cref="LoadAssignment.Join"/>). Its moves stay planned until their silo owns the partition (or is gone).
/// </remarks>
internal sealed class LeasePlacement(PlacementOptions options)
{
    /// <summary>
    /// The most busy seconds a second one partition weighs in placement: its deliveries are serial,
    /// so it keeps at most one delivery running wherever it is. A partition far behind reports
    /// more (the time to clear its lag within a minute), which no silo can give it by taking it;
    /// counted in full, a partition just moved or failed over made its silo look overloaded and
    /// give away all its other partitions. <c>silos_desired</c> counts it the same way.
    /// </summary>
    public const double MostOfOnePartition = 1;

    private TimeSpan _nextRebalanceAt;
    private string? _rebalancedFor;
    private List<LoadAssignment.Move> _moves = [];

    /// <summary>The moves the last rebalance planned, once: the grain logs them.</summary>
    public List<LoadAssignment.Move> TakeMoves()
    {
        var moves = _moves;
        _moves = [];
        return moves;
    }

    public Dictionary<TopicPartitionKey, string> Desired(TimeSpan now, GroupSilos silos, IReadOnlyDictionary<TopicPartitionKey, LeaseSlot> slots, List<TopicPartitionKey> partitions, bool mayGrant)
    {
        if (options.BalanceBy == BalanceBy.Count)
        {
            return LeaseAssignment.Compute(silos.Eligible, partitions, p => slots[p].Owner, p => slots[p].Home, silos.WeightOf, p => slots[p].PinnedTo);
        }

        var eligible = silos.Eligible;
        // A planned move is over once its silo has been sent the grant (with the figures), or has left.
        foreach (var slot in slots.Values.Where(s => s.PlannedTo is { } to && (!eligible.Contains(to) || (s.Owner == to && s.Delivered))))
        {
            (slot.PlannedTo, slot.PlanDetail) = (null, null);
        }

        var cost = Costs(slots, partitions);
        var zones = new LoadAssignment.Zones(silos.ZoneOf, p => slots[p].LeaderZone);
        var placed = LoadAssignment.Place(eligible, partitions, p => slots[p].Owner, p => slots[p].Home, silos.WeightOf, p => slots[p].PinnedTo, p => slots[p].PlannedTo, cost, zones);
        var settled = mayGrant && partitions.All(p => slots[p] is { Delivered: true, Revoking: false } slot && slot.Owner == placed.GetValueOrDefault(p));
        var members = string.Join(",", eligible.Order(StringComparer.Ordinal).Select(s => $"{s}:{silos.WeightOf(s)}"));
        if (settled && (now >= _nextRebalanceAt || members != _rebalancedFor))
        {
            _nextRebalanceAt = now + options.RebalanceInterval;
            _rebalancedFor = members;
            var moves = LoadAssignment.Join(placed, eligible, silos.WeightOf, p => slots[p].PinnedTo, cost, zones);
            if (moves.Count == 0)
            {
                moves = LoadAssignment.Plan(placed, eligible, silos.WeightOf, p => slots[p].PinnedTo is not null, cost, options.MaxMovesPerInterval, options.Tolerance, zones);
            }

            foreach (var move in moves)
            {
                slots[move.Partition].PlannedTo = move.To;
                slots[move.Partition].PlanDetail = move.Describe();
                placed[move.Partition] = move.To;
            }

            _moves.AddRange(moves);
        }

        return placed;
    }

    /// <summary>What a silo measured of the partitions it owns, and the zones of the partitions' leaders it read, kept with their slots.</summary>
    public static void Record(LeaseProtocol.SiloHeartbeat heartbeat, IReadOnlyDictionary<TopicPartitionKey, LeaseSlot> slots)
    {
        foreach (var load in heartbeat.Loads)
        {
            if (slots.TryGetValue(new TopicPartitionKey(load.Topic, load.Partition), out var slot) && slot.Owner == heartbeat.SiloId)
            {
                slot.Load = load;
            }
        }

        foreach (var (topic, zones) in heartbeat.LeaderZones)
        {
            for (var partition = 0; partition < zones.Length; partition++)
            {
                if (slots.TryGetValue(new TopicPartitionKey(topic, partition), out var slot))
                {
                    slot.LeaderZone = zones[partition];
                }
            }
        }
    }

    /// <summary>The group's load per live silo, and the silos it needs.</summary>
    public GroupLoad Load(string group, GroupSilos silos, IReadOnlyDictionary<TopicPartitionKey, LeaseSlot> slots)
    {
        var perSilo = silos.Live.Order(StringComparer.Ordinal)
            .Select(s => new SiloLoad(s, slots.Count(kv => kv.Value.Owner == s), slots.Where(kv => kv.Value.Owner == s).Sum(kv => kv.Value.Load?.Cost ?? 0), silos.CapacityOf(s), silos.WeightOf(s)))
            .ToList();
        var total = slots.Values.Sum(s => s.Load?.Cost ?? 0);
        var capacity = perSilo.Count == 0 ? 0 : perSilo.Average(s => s.Capacity);

        // A partition's deliveries run one after another: more silos give none of them more than
        // one busy second a second, however far behind it is.
        var usable = slots.Values.Sum(s => Math.Min(MostOfOnePartition, s.Load?.Cost ?? 0));
        var desired = perSilo.Count == 0 || slots.Count == 0 ? 0
            : (int)Math.Clamp(Math.Ceiling(usable / (GroupLoad.TargetUtilization * Math.Max(capacity, 0.001))), 1, slots.Count);
        return new GroupLoad { Group = group, BalanceBy = options.BalanceBy.ToString(), SilosDesired = desired, Cost = total, Silos = perSilo, Waiting = silos.Waiting() };
    }

    /// <summary>
    /// Each partition's cost for placement: as last reported, up to <see cref="MostOfOnePartition"/>;
    /// the mean of the reported ones when it has none yet; and at least a hundredth of that mean
    /// (and 0.001), so partitions that cost nothing are still spread by number.
    /// </summary>
    private static Func<TopicPartitionKey, double> Costs(IReadOnlyDictionary<TopicPartitionKey, LeaseSlot> slots, List<TopicPartitionKey> partitions)
    {
        var reported = partitions.ToDictionary(p => p, p => slots[p].Load?.Cost is { } cost ? Math.Min(cost, MostOfOnePartition) : (double?)null);
        var known = reported.Values.OfType<double>().ToList();
        var mean = known.Count == 0 ? 0 : known.Average();
        var floor = Math.Max(0.001, mean / 100);
        var costs = reported.ToDictionary(r => r.Key, r => Math.Max(floor, r.Value ?? mean));
        return p => costs[p];
    }
}
