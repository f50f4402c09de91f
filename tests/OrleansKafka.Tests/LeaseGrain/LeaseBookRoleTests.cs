using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Configuration;
using OrleansKafka.LeaseGrain;
using OrleansKafka.LeaseProtocol;

namespace OrleansKafka.Tests.LeaseGrain;

/// <summary>A group whose processors require a role: silos that lack it take part but are granted nothing.</summary>
public sealed class LeaseBookRoleTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData(BalanceBy.Load)]
    [InlineData(BalanceBy.Count)]
    public void ASiloThatLacksTheRole_IsGrantedNothing_EvenAlone_AndThePartitionsSayWhy(BalanceBy balanceBy)
    {
        var book = new LeaseBook(_time, Lease, placement: new PlacementOptions { BalanceBy = balanceBy });

        var alone = book.Heartbeat(Beat("light", lacks: ["heavy"]), Members("light"));

        Assert.Empty(alone.Grants);
        Assert.All(book.Assignments(), a => Assert.Null(a.Owner));
        Assert.All(book.Assignments(), a => Assert.Contains("'heavy'", a.Waiting, StringComparison.Ordinal));
        Assert.Contains("light", book.Load("g").Waiting, StringComparison.Ordinal);

        // A silo with the role takes every partition; the other still gets none.
        var heavy = book.Heartbeat(Beat("heavy", lacks: []), Members("light", "heavy"));
        Assert.Equal(4, heavy.Grants.Count);
        Assert.Empty(book.Heartbeat(Beat("light", lacks: ["heavy"]), Members("light", "heavy")).Grants);
        Assert.All(book.Assignments(), a => Assert.Null(a.Waiting));
        Assert.Null(book.Load("g").Waiting);
    }

    [Fact]
    public void AnOperatorsMove_ToASiloThatLacksTheRole_IsRefused_NamingTheRole()
    {
        var book = new LeaseBook(_time, Lease, placement: new PlacementOptions());
        book.Heartbeat(Beat("heavy", lacks: []), Members("light", "heavy"));
        book.Heartbeat(Beat("light", lacks: ["heavy"]), Members("light", "heavy"));

        var refused = Assert.Throws<InvalidOperationException>(() => book.Move("t", 0, "light"));

        Assert.Contains("lacks role(s) heavy", refused.Message, StringComparison.Ordinal);
        Assert.Contains("expected one of: heavy", refused.Message, StringComparison.Ordinal);
    }

    private static SiloHeartbeat Beat(string silo, IReadOnlyList<string> lacks) => new()
    {
        SiloId = silo,
        Topics = new Dictionary<string, int> { ["t"] = 4 },
        Held = [],
        Released = [],
        LacksRoles = lacks,
    };

    private static MembershipView Members(params string[] active) => new(active.ToHashSet(StringComparer.Ordinal), new HashSet<string>(), new HashSet<string>());
}
