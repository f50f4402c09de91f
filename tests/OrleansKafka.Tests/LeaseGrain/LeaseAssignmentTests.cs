using OrleansKafka.LeaseGrain;

namespace OrleansKafka.Tests.LeaseGrain;

public sealed class LeaseAssignmentTests
{
    private static readonly TopicPartitionKey[] Twelve = [.. Enumerable.Range(0, 12).Select(p => new TopicPartitionKey("t", p))];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(13)]
    public void Compute_FromNothing_CountsDifferByAtMostOne(int silos)
    {
        var names = Enumerable.Range(0, silos).Select(i => $"s{i}").ToArray();

        var result = LeaseAssignment.Compute(names, Twelve, _ => null);

        Assert.Equal(12, result.Count);
        var counts = names.Select(n => result.Values.Count(v => v == n)).ToArray();
        Assert.True(counts.Max() - counts.Min() <= 1, $"counts {string.Join(",", counts)}");
    }

    [Fact]
    public void Compute_Weights_SplitInProportion()
    {
        var result = LeaseAssignment.Compute(["a", "b", "c"], Twelve, _ => null, weight: s => s == "a" ? 2 : 1);

        Assert.Equal([6, 3, 3], new[] { "a", "b", "c" }.Select(s => result.Values.Count(v => v == s)));
    }

    [Fact]
    public void Compute_StandbyOfWeightZero_GetsNothingWhileAWeightedSiloLives_AndEverythingAlone()
    {
        var both = LeaseAssignment.Compute(["a", "standby"], Twelve, _ => null, weight: s => s == "standby" ? 0 : 1);
        var alone = LeaseAssignment.Compute(["standby"], Twelve, p => null, weight: _ => 0);

        Assert.All(both.Values, v => Assert.Equal("a", v));
        Assert.Equal(12, alone.Values.Count(v => v == "standby"));
    }

    [Fact]
    public void Compute_LeftOverPartitionsGoToTheLargestShares()
    {
        TopicPartitionKey[] two = [new("t", 0), new("t", 1)];

        var result = LeaseAssignment.Compute(["heavy", "light"], two, _ => null, weight: s => s == "heavy" ? 1000 : 1);

        Assert.All(result.Values, v => Assert.Equal("heavy", v));
    }

    [Fact]
    public void Compute_HeavierSiloJoins_MovesOnlyItsShare()
    {
        var before = LeaseAssignment.Compute(["a", "b"], Twelve, _ => null);

        var after = LeaseAssignment.Compute(["a", "b", "c"], Twelve, p => before[p], weight: s => s == "c" ? 2 : 1);

        Assert.Equal(6, after.Values.Count(v => v == "c"));
        Assert.Equal(6, Twelve.Count(p => before[p] != after[p]));
    }

    [Fact]
    public void Compute_SiloJoins_MovesOnlyWhatBalanceNeeds()
    {
        var before = LeaseAssignment.Compute(["a", "b", "c"], Twelve, _ => null);

        var after = LeaseAssignment.Compute(["a", "b", "c", "d"], Twelve, p => before[p]);

        var moved = Twelve.Count(p => before[p] != after[p]);
        Assert.Equal(3, moved);
        Assert.Equal(3, after.Values.Count(v => v == "d"));
    }

    [Fact]
    public void Compute_SiloLeaves_OnlyItsPartitionsMove()
    {
        var before = LeaseAssignment.Compute(["a", "b", "c", "d"], Twelve, _ => null);

        var after = LeaseAssignment.Compute(["a", "b", "c"], Twelve, p => before[p] == "d" ? null : before[p]);

        Assert.All(Twelve.Where(p => before[p] != "d"), p => Assert.Equal(before[p], after[p]));
        Assert.All(new[] { "a", "b", "c" }, s => Assert.Equal(4, after.Values.Count(v => v == s)));
    }

    [Fact]
    public void Compute_ManyOddTopics_SpreadsTheSurplusPartitionsOverSilos()
    {
        var partitions = Enumerable.Range(0, 6).SelectMany(t => new[] { new TopicPartitionKey($"t{t}", 0) }).ToArray();

        var result = LeaseAssignment.Compute(["a", "b", "c"], partitions, _ => null);

        Assert.All(new[] { "a", "b", "c" }, s => Assert.Equal(2, result.Values.Count(v => v == s)));
    }

    [Fact]
    public void Compute_NoSilos_AssignsNothing() =>
        Assert.Empty(LeaseAssignment.Compute([], Twelve, _ => null));

    [Fact]
    public void Compute_SiloBackWithItsIdentity_GetsItsOwnPartitionsBack_AndNothingElseMoves()
    {
        var before = LeaseAssignment.Compute(["a", "b", "c"], Twelve, _ => null);
        var cs = before.Where(x => x.Value == "c").Select(x => x.Key).ToHashSet();
        var withoutC = LeaseAssignment.Compute(["a", "b"], Twelve, p => before[p] == "c" ? null : before[p]);

        var after = LeaseAssignment.Compute(["a", "b", "c"], Twelve, p => withoutC[p], p => cs.Contains(p) ? "c" : null);

        Assert.Equal(cs.Order(), after.Where(x => x.Value == "c").Select(x => x.Key).Order());
        Assert.All(Twelve.Where(p => !cs.Contains(p)), p => Assert.Equal(before[p], after[p]));
    }

    [Fact]
    public void Compute_HomeSiloNotLive_IsIgnored()
    {
        var current = LeaseAssignment.Compute(["a", "b"], Twelve, _ => null);

        var after = LeaseAssignment.Compute(["a", "b"], Twelve, p => current[p], _ => "gone");

        Assert.Equal(current, after);
    }
}
