using OrleansKafka.LeaseGrain;

namespace OrleansKafka.Tests.LeaseGrain;

public sealed class LoadAssignmentTests
{
    private static readonly TopicPartitionKey[] Twelve = [.. Enumerable.Range(0, 12).Select(p => new TopicPartitionKey("t", p))];
    private static readonly string[] Three = ["a", "b", "c"];

    /// <summary>Partitions 0 and 3 are hot (10), the others cost 1.</summary>
    private static double Skewed(TopicPartitionKey p) => IsHot(p) ? 10 : 1;

    private static bool IsHot(TopicPartitionKey p) => p.Partition is 0 or 3;

    /// <summary>What count-based placement gives three silos from nothing: four partitions each, 0, 3, 6 and 9 on a.</summary>
    private static Dictionary<TopicPartitionKey, string> ByCount() => LeaseAssignment.Compute(Three, Twelve, _ => null);

    [Fact]
    public void Plan_BothHotPartitionsOnOneSilo_MovesAHotOneFirst()
    {
        var placed = ByCount();
        Assert.Equal("a", placed[Twelve[0]]);
        Assert.Equal("a", placed[Twelve[3]]);

        var moves = LoadAssignment.Plan(placed, Three, _ => 1, _ => false, Skewed, maxMoves: 1, tolerance: 0.2);

        var move = Assert.Single(moves);
        Assert.True(IsHot(move.Partition), $"moved {move.Partition}");
        Assert.Equal("a", move.From);
        Assert.Equal(22, move.FromLoad);
        Assert.Equal(4, move.ToLoad);
    }

    [Fact]
    public void Plan_Unbounded_EndsWithTheHotPartitionsApart_AndEverySiloWithinTheTolerance()
    {
        var placed = ByCount();

        foreach (var move in LoadAssignment.Plan(placed, Three, _ => 1, _ => false, Skewed, maxMoves: 100, tolerance: 0.2))
        {
            placed[move.Partition] = move.To;
        }

        Assert.NotEqual(placed[Twelve[0]], placed[Twelve[3]]);
        var loads = Three.Select(s => placed.Where(kv => kv.Value == s).Sum(kv => Skewed(kv.Key))).ToArray();
        Assert.True(loads.Max() <= 10 * 1.2, $"loads {string.Join(",", loads)}");

        // Planned again on the same figures, nothing moves: the result is stable.
        Assert.Empty(LoadAssignment.Plan(placed, Three, _ => 1, _ => false, Skewed, maxMoves: 100, tolerance: 0.2));
    }

    [Fact]
    public void Plan_EvenLoadWithNoise_MovesNothing()
    {
        var placed = ByCount();
        var noise = new Random(7);
        var costs = Twelve.ToDictionary(p => p, _ => 1 + ((noise.NextDouble() - 0.5) * 0.3));

        Assert.Empty(LoadAssignment.Plan(placed, Three, _ => 1, _ => false, p => costs[p], maxMoves: 100, tolerance: 0.2));
    }

    [Fact]
    public void Plan_AfterAMove_TheMoveBackNeedsTheLoadToChangeByTwiceTheMargin()
    {
        // a holds 3 partitions of 1 and b holds 1: one moves (gap 2 > cost 1 + margin 0.4).
        var four = Twelve[..4];
        var placed = new Dictionary<TopicPartitionKey, string> { [four[0]] = "a", [four[1]] = "a", [four[2]] = "a", [four[3]] = "b" };
        var move = Assert.Single(LoadAssignment.Plan(placed, ["a", "b"], _ => 1, _ => false, _ => 1, maxMoves: 5, tolerance: 0.2));
        placed[move.Partition] = move.To;

        // Now 2 and 2; b's partitions grow by less than twice the margin (0.8 in all): nothing moves back.
        double Grown(TopicPartitionKey p) => placed[p] == "b" ? 1.35 : 1;
        Assert.Empty(LoadAssignment.Plan(placed, ["a", "b"], _ => 1, _ => false, Grown, maxMoves: 5, tolerance: 0.2));
    }

    [Fact]
    public void Join_ASiloThatHoldsNothing_TakesItsShareByNumber_WhateverTheCosts()
    {
        var placed = LeaseAssignment.Compute(["a", "b"], Twelve, _ => null);
        var noise = new Random(3);
        var costs = Twelve.ToDictionary(p => p, _ => 0.5 + noise.NextDouble());

        var moves = LoadAssignment.Join(placed, Three, _ => 1, _ => null, p => costs[p]);

        Assert.Equal(4, moves.Count);
        Assert.All(moves, m => Assert.Equal("c", m.To));
        Assert.Equal(2, moves.Count(m => m.From == "a"));
        Assert.Empty(LoadAssignment.Join(placed, ["a", "b"], _ => 1, _ => null, p => costs[p]));
    }

    [Fact]
    public void Plan_PinnedPartitions_StayWhereTheOperatorPutThem()
    {
        var placed = ByCount();

        var moves = LoadAssignment.Plan(placed, Three, _ => 1, IsHot, Skewed, maxMoves: 100, tolerance: 0.2);

        Assert.DoesNotContain(moves, m => IsHot(m.Partition));
    }

    [Fact]
    public void Place_PartitionsWithoutALiveOwner_GoCostliestFirstWhereTheLoadStaysLowest()
    {
        // b died: its partitions 4-7 (one of them hot) are placed on a and c.
        var before = Twelve.ToDictionary(p => p, p => p.Partition < 4 ? "a" : p.Partition < 8 ? "b" : "c");
        double Cost(TopicPartitionKey p) => p.Partition == 4 ? 10 : 1;

        var placed = LoadAssignment.Place(["a", "c"], Twelve, p => before[p] == "b" ? null : before[p], _ => null, _ => 1, _ => null, _ => null, Cost);

        // a and c hold 4 each: the hot one goes to a (the tie goes by name), the others then to c.
        Assert.Equal("a", placed[Twelve[4]]);
        Assert.All(Twelve[5..8], p => Assert.Equal("c", placed[p]));
        Assert.All(Twelve.Where(p => before[p] != "b"), p => Assert.Equal(before[p], placed[p]));
    }

    [Fact]
    public void Place_ARestartedSilo_GetsItsOwnPartitionsBack_AndAStandbyGetsNothingWhileAWeightedSiloLives()
    {
        var placed = LoadAssignment.Place(["a", "b", "standby"], Twelve[..4], _ => "a", p => p.Partition == 3 ? "b" : null, s => s == "standby" ? 0 : 1, _ => null, _ => null, _ => 1);

        Assert.Equal("b", placed[Twelve[3]]);
        Assert.DoesNotContain("standby", placed.Values);
        Assert.Equal(3, placed.Values.Count(v => v == "a"));
    }

    /// <summary>Silos a, b, c in zones za, zb, zc; partition p's leader in zone z(p % 3).</summary>
    private static readonly LoadAssignment.Zones ThreeZones = new(s => $"z{s}", p => $"z{"abc"[p.Partition % 3]}");

    [Fact]
    public void Place_EvenLoad_PutsEachPartitionInItsLeadersZone()
    {
        var placed = LoadAssignment.Place(Three, Twelve, _ => null, _ => null, _ => 1, _ => null, _ => null, _ => 1, ThreeZones);

        Assert.All(Twelve, p => Assert.True(ThreeZones.In(p, placed[p]), $"{p} on {placed[p]}"));
    }

    [Fact]
    public void Place_TheZoneGivesWayToTheLoad_BeyondThePartitionsOwnCost()
    {
        // Every leader in zone za: a takes its share plus one partition's cost at most, the rest go elsewhere.
        var allA = new LoadAssignment.Zones(s => $"z{s}", _ => "za");

        var placed = LoadAssignment.Place(Three, Twelve, _ => null, _ => null, _ => 1, _ => null, _ => null, _ => 1, allA);

        Assert.InRange(placed.Values.Count(v => v == "a"), 4, 5);
    }

    [Fact]
    public void Join_TheJoiningSilo_TakesThePartitionsWhoseLeaderIsInItsZone()
    {
        var placed = Twelve.ToDictionary(p => p, p => p.Partition < 6 ? "a" : "b");

        var moves = LoadAssignment.Join(placed, Three, _ => 1, _ => null, _ => 1, ThreeZones);

        Assert.Equal(4, moves.Count);
        Assert.All(moves, m => Assert.Equal(("c", "zc"), (m.To, ThreeZones.Leader(m.Partition))));
    }

    [Fact]
    public void Plan_EvenLoadOutsideTheZones_SwapsPairsIntoThem_WithinTheBudget_InAFewRebalances()
    {
        // Spread by number (0, 3, 6, 9 on a; ...) with every leader one zone along: none sits in its leader's zone.
        var shifted = new LoadAssignment.Zones(s => $"z{s}", p => $"z{"abc"[(p.Partition + 1) % 3]}");
        var placed = ByCount();
        Assert.DoesNotContain(Twelve, p => shifted.In(p, placed[p]));

        // A partition moves once per rebalance, and a swap may put its other half outside its zone:
        // the cycle a → b → c → a settles over a few rebalances, each moving fewer, then none.
        var rebalances = new List<int>();
        while (rebalances.Count < 5 && LoadAssignment.Plan(placed, Three, _ => 1, _ => false, _ => 1, maxMoves: 100, tolerance: 0.2, shifted) is { Count: > 0 } moves)
        {
            rebalances.Add(moves.Count);
            foreach (var move in moves)
            {
                placed[move.Partition] = move.To;
            }
        }

        Assert.InRange(rebalances.Count, 1, 4);
        Assert.Equal(rebalances.OrderDescending(), rebalances);

        Assert.All(Twelve, p => Assert.True(shifted.In(p, placed[p]), $"{p} on {placed[p]}"));
        Assert.All(Three, s => Assert.Equal(4, placed.Values.Count(v => v == s)));
        Assert.Equal(2, LoadAssignment.Plan(ByCount(), Three, _ => 1, _ => false, _ => 1, maxMoves: 2, tolerance: 0.2, shifted).Count);
    }

    [Fact]
    public void Plan_ASwapThatWouldUnbalanceTheLoad_IsNotMade()
    {
        // a holds a dear partition of zone zb (10), b a cheap one of zone za (1) and one of its own (9):
        // even now, trading the first two would leave a gap of 18.
        var placed = new Dictionary<TopicPartitionKey, string> { [Twelve[0]] = "a", [Twelve[1]] = "b", [Twelve[2]] = "b" };
        var zones = new LoadAssignment.Zones(s => $"z{s}", p => p.Partition == 1 ? "za" : "zb");
        double Cost(TopicPartitionKey p) => p.Partition switch { 0 => 10, 1 => 1, _ => 9 };

        var moves = LoadAssignment.Plan(placed, ["a", "b"], _ => 1, _ => false, Cost, maxMoves: 10, tolerance: 0.2, zones);

        Assert.Empty(moves);
    }
}
