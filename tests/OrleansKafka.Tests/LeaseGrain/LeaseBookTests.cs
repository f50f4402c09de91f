using Microsoft.Extensions.Time.Testing;
using OrleansKafka.LeaseGrain;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Partitions;

namespace OrleansKafka.Tests.LeaseGrain;

public sealed class LeaseBookTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Margin = LeaseBook.DriftMargin(Lease);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Heartbeat_SingleSilo_GetsEveryPartitionAtEpochOne()
    {
        var book = new LeaseBook(_time, Lease);

        var response = book.Heartbeat(Beat("a", held: []), Members("a"));

        Assert.Equal(4, response.Grants.Count);
        Assert.Single(response.Grants.Select(g => g.Epoch).Distinct());
        Assert.All(response.Grants, g => Assert.Equal(OwnershipReason.Start, g.Reason));
    }

    [Fact]
    public void Heartbeat_SecondSiloJoins_PartitionMovesOnlyAfterRelease_WithHigherEpoch()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;

        var b1 = book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants;
        var a2 = book.Heartbeat(Beat("a", held: a), Members("a", "b")).Grants;
        var revoked = a.Except(a2).ToArray();
        var b2 = book.Heartbeat(Beat("b", held: b1), Members("a", "b")).Grants;

        Assert.Empty(b1);
        Assert.Equal(2, revoked.Length);
        Assert.Empty(b2);

        book.Heartbeat(Beat("a", held: a2, released: revoked), Members("a", "b"));
        var b3 = book.Heartbeat(Beat("b", held: b2), Members("a", "b")).Grants;

        Assert.Equal(revoked.Select(r => (r.Topic, r.Partition)).Order(), b3.Select(g => (g.Topic, g.Partition)).Order());
        Assert.All(b3, g => Assert.Equal(a[0].Epoch + 1, g.Epoch));
        Assert.All(b3, g => Assert.Equal(OwnershipReason.Rebalance, g.Reason));
    }

    [Fact]
    public void Heartbeat_RevokedPartitionStillReportedHeld_IsRenewedAsDraining_UntilMaxDrain_ThenRunsOut()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("b", held: []), Members("a", "b"));
        var kept = book.Heartbeat(Beat("a", held: a), Members("a", "b")).Grants;
        var revoked = a.Except(kept).ToArray();
        Assert.Equal(2, revoked.Length);

        // Silo a drains the revoked partitions (calls it sent are still running) and goes on
        // reporting them: each answer renews them as draining, never grants them to b meanwhile.
        var drained = TimeSpan.Zero;
        var beat = Lease / 2;
        while (drained + beat < LeaseBook.MaxDrain)
        {
            _time.Advance(beat);
            drained += beat;
            var answer = book.Heartbeat(Beat("a", held: a), Members("a", "b"));
            Assert.Equal(revoked.Select(r => (r.Topic, r.Partition, r.Epoch)).Order(), answer.Draining.Select(d => (d.Topic, d.Partition, d.Epoch)).Order());
            Assert.Empty(book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants);
        }

        // Past the drain bound it is renewed no more, though a still reports it (its call is stuck),
        // and b gets the partitions once the last renewal has run out.
        List<LeaseGrant> granted = [];
        while (granted.Count == 0 && drained < LeaseBook.MaxDrain + Lease + Margin + beat)
        {
            _time.Advance(beat);
            drained += beat;
            var answer = book.Heartbeat(Beat("a", held: a), Members("a", "b"));
            Assert.True(drained < LeaseBook.MaxDrain || answer.Draining.Count == 0, $"renewed as draining {drained} after the revoke");
            granted = [.. book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants];
        }

        Assert.True(drained >= LeaseBook.MaxDrain, $"granted to b {drained} after the revoke, within the drain bound");
        Assert.Equal(revoked.Select(r => (r.Topic, r.Partition)).Order(), granted.Select(g => (g.Topic, g.Partition)).Order());
        Assert.All(granted, g => Assert.True(g.Epoch > revoked[0].Epoch));
    }

    [Fact]
    public void Heartbeat_OwnerStopsReporting_PartitionsMoveOnlyAfterTheLeaseExpires()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("b", held: []), Members("a", "b"));

        // The lease book counts a lease from when it handled the renewal, plus a margin for clock drift.
        _time.Advance(Lease + Margin - TimeSpan.FromMilliseconds(1));
        Assert.Empty(book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var b = book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants;

        Assert.Equal(4, b.Count);
        Assert.All(b, g => Assert.Equal(a[0].Epoch + 1, g.Epoch));
        Assert.Empty(a.Intersect(b));
        Assert.All(b, g => Assert.Equal(OwnershipReason.Expiry, g.Reason));
    }

    [Fact]
    public void Heartbeat_OwnerDeclaredDead_PartitionsWaitUntilItsLeaseHasRunOut()
    {
        // A silo declared dead may only be frozen: it holds its leases until they run out, and
        // would go on processing if it resumed before then.
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;

        _time.Advance(Lease / 2);
        Assert.Empty(book.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants);
        _time.Advance(Lease / 2 + Margin - TimeSpan.FromMilliseconds(1));
        Assert.Empty(book.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var b = book.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants;

        Assert.Equal(4, b.Count);
        Assert.All(b, g => Assert.True(g.Epoch > a[0].Epoch));
        Assert.All(b, g => Assert.Equal(OwnershipReason.Death, g.Reason));
    }

    [Fact]
    public void Heartbeat_OwnerDeclaredDeadAndSilent_IsNotWokenForItsRevokes()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a"));

        book.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a"));

        Assert.Empty(book.SilosWithNews("b"));
    }

    [Fact]
    public void Heartbeat_NewGrainActivation_WithADeadMember_GrantsNothingUnreportedUntilEarlierGrantsHaveRunOut()
    {
        var first = new LeaseBook(_time, Lease);
        first.Heartbeat(Beat("a", held: []), Members("a"));

        // The grain moves while a (declared dead, perhaps only frozen) may still hold every partition.
        _time.Advance(Lease / 2);
        var second = new LeaseBook(_time, Lease);
        Assert.Empty(second.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants);
        _time.Advance(Lease + Margin - TimeSpan.FromMilliseconds(1));
        Assert.Empty(second.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var grants = second.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants;
        Assert.Equal(4, grants.Count);
        Assert.All(grants, g => Assert.Equal(OwnershipReason.Expiry, g.Reason)); // not a start: a owned them before the grain moved
    }

    [Fact]
    public void Heartbeat_NewGrainActivationBehindAFence_WaitsTheFencesValidityToo_BeforeGrantingAnythingUnreported()
    {
        var fence = TimeSpan.FromSeconds(1);
        var first = new LeaseBook(_time, Lease);
        first.Heartbeat(Beat("a", held: []), Members("a"));

        // An older activation may answer a (cut off, declared dead) for the fence's validity after
        // this one took the fence: a's leases can run until then plus a lease and the margin.
        var second = new LeaseBook(_time, Lease, fence);
        Assert.Equal(fence + Lease + Margin, second.GrantsUnreportedFrom); // when the grain wakes the silos to take them
        _time.Advance(second.GrantsUnreportedFrom - TimeSpan.FromMilliseconds(1));
        Assert.Empty(second.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(4, second.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants.Count);
    }

    [Fact]
    public void Heartbeat_FirstStartBehindAFence_GrantsOnlyOnReportsMadeOnceAnOlderActivationCannotAnswer()
    {
        var fence = TimeSpan.FromSeconds(1);
        var book = new LeaseBook(_time, Lease, fence);

        // A report before then may miss a lease an older activation grants just after it.
        Assert.Empty(book.Heartbeat(Beat("a", held: []), Members("a")).Grants);
        _time.Advance(book.ReportsCountFrom - TimeSpan.FromMilliseconds(1));
        Assert.Empty(book.Heartbeat(Beat("a", held: []), Members("a")).Grants);
        Assert.InRange(book.ReportsCountFrom, fence, fence + TimeSpan.FromMilliseconds(100));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(4, book.Heartbeat(Beat("a", held: []), Members("a")).Grants.Count);
    }

    [Fact]
    public void Heartbeat_Leaving_GrantsNothingAndReleasedPartitionsGoToOthers()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("b", held: []), Members("a", "b"));

        var leaving = book.Heartbeat(Beat("a", held: [], released: a) with { Leaving = true }, Members("a", "b")).Grants;
        var b = book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants;

        Assert.Empty(leaving);
        Assert.Equal(4, b.Count);
        Assert.All(b, g => Assert.Equal(OwnershipReason.Leave, g.Reason));
    }

    [Fact]
    public void Heartbeat_AfterGrainRestart_AdoptsReportedLeasesAndNextGrantHasAHigherEpoch()
    {
        var book = new LeaseBook(_time, Lease);
        var held = new[] { new LeaseGrant("t", 0, 7), new LeaseGrant("t", 1, 7), new LeaseGrant("t", 2, 7), new LeaseGrant("t", 3, 7) };

        var a = book.Heartbeat(Beat("a", held: held), Members("a")).Grants;
        Assert.Equal(held.OrderBy(g => g.Partition), a.OrderBy(g => g.Partition));

        book.Heartbeat(Beat("a", held: held, released: [held[0]]) with { Leaving = true }, Members("a", "b"));
        var b = book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants;
        Assert.True(b.Single(g => g.Partition == 0).Epoch > 7);
    }

    [Fact]
    public void Heartbeat_NewGrainActivation_GrantsAboveEveryEpochOfTheEarlierOne()
    {
        var first = new LeaseBook(_time, Lease);
        var before = first.Heartbeat(Beat("a", held: []), Members("a")).Grants;

        // Silo a dies with the lease grain; a new activation starts a moment later and only b reports.
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var second = new LeaseBook(_time, Lease);
        _time.Advance(Lease + Margin);
        var after = second.Heartbeat(Beat("b", held: []), Dead(active: "b", dead: "a")).Grants;

        Assert.Equal(4, after.Count);
        Assert.All(after, g => Assert.True(g.Epoch > before.Max(x => x.Epoch), $"epoch {g.Epoch} is not above {before.Max(x => x.Epoch)}"));
    }

    [Fact]
    public void Heartbeat_AfterGrainRestart_GrantsNothingNewUntilEveryMemberReported()
    {
        var book = new LeaseBook(_time, Lease);

        var b = book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants;
        Assert.Empty(b);

        var a = book.Heartbeat(Beat("a", held: [new LeaseGrant("t", 0, 3)]), Members("a", "b")).Grants;
        Assert.Contains(new LeaseGrant("t", 0, 3), a);
    }

    [Fact]
    public void Heartbeat_AfterGrainRestart_TwoSilosReportOnePartition_TheNewerEpochIsAdopted()
    {
        // a still lists an old lease whose feed is stopping; b holds the current one.
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: [new LeaseGrant("t", 0, 5)]), Members("a", "b")).Grants;
        var b = book.Heartbeat(Beat("b", held: [new LeaseGrant("t", 0, 7)]), Members("a", "b")).Grants;
        var aAgain = book.Heartbeat(Beat("a", held: [new LeaseGrant("t", 0, 5)]), Members("a", "b")).Grants;

        Assert.Contains(new LeaseGrant("t", 0, 7), b);
        Assert.DoesNotContain(aAgain, g => g.Partition == 0);
        Assert.Equal(("b", 7L), book.Assignments().Where(x => x.Partition == 0).Select(x => (x.Owner, x.Epoch)).Single());
    }

    [Fact]
    public void Heartbeat_DelayedReportHandledAfterANewerOne_FreesNothingTheSiloHolds()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []) with { Instance = "a@1", Sequence = 1 }, Members("a")).Grants;
        book.Heartbeat(Beat("a", held: a) with { Instance = "a@1", Sequence = 3 }, Members("a"));
        var before = book.Assignments();

        // Sequence 2 was sent before the grants were applied, and arrives last.
        book.Heartbeat(Beat("a", held: []) with { Instance = "a@1", Sequence = 2 }, Members("a"));

        Assert.Equal(before, book.Assignments());
    }

    [Fact]
    public void Heartbeat_RestartedSiloStartsItsSequenceAgain_ItsReportsCount()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []) with { Instance = "a@1", Sequence = 7 }, Members("a")).Grants;

        // A new run of the same silo identity holds nothing: what the old run held is free again.
        book.Heartbeat(Beat("a", held: []) with { Instance = "a@2", Sequence = 1 }, Members("a"));

        Assert.All(book.Assignments(), x => Assert.True(x.Owner is null || x.Epoch > a[0].Epoch));
    }

    [Fact]
    public void Renew_KeepsTheLeasesTheSiloHoldsUnderTheirEpochs_PastTheLeaseItsLastHeartbeatGave()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []) with { Instance = "a@1", Sequence = 1 }, Members("a")).Grants;

        // No heartbeat of a's gets through for two leases; its renewals do, half a lease apart.
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(Lease / 2);
            var renewed = book.Renew("a", "a@1", a, Members("a")).Grants;
            Assert.Equal(a.Select(g => (g.Topic, g.Partition, g.Epoch)).Order(), renewed.Select(g => (g.Topic, g.Partition, g.Epoch)).Order());
        }

        Assert.Equal(a.Select(g => ((string?)"a", g.Partition, g.Epoch)).Order(), book.Assignments().Select(x => (x.Owner, x.Partition, x.Epoch)).Order());

        // Without them, the leases run out a lease and the margin after the last one.
        _time.Advance(Lease + Margin);
        Assert.All(book.Assignments(), x => Assert.Null(x.Owner));
    }

    [Fact]
    public void Renew_ChangesNothingButDeadlines_AndRenewsNoLeaseBeingRevokedOrOfAnotherEpochOrRun()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []) with { Instance = "a@1", Sequence = 1 }, Members("a")).Grants;
        // b joins: two of a's partitions are to be revoked once b's heartbeat is handled.
        book.Heartbeat(Beat("b", held: []) with { Instance = "b@1", Sequence = 1 }, Members("a", "b"));
        var before = book.Assignments();
        Assert.Equal(2, before.Count(x => x.Revoking));

        var stale = a.Select(g => g with { Epoch = g.Epoch - 1 }).ToList();
        Assert.Empty(book.Renew("a", "a@1", stale, Members("a", "b")).Grants);
        Assert.Empty(book.Renew("a", "a@0", a, Members("a", "b")).Grants);
        var renewed = book.Renew("a", "a@1", a, Members("a", "b")).Grants;

        Assert.Equal(before.Where(x => !x.Revoking).Select(x => x.Partition).Order(), renewed.Select(g => g.Partition).Order());
        Assert.Equal(before, book.Assignments());

        // The revoked leases run out on the book's clock as if no renewal had come; the others do not.
        _time.Advance(Lease / 2);
        book.Renew("a", "a@1", a, Members("a", "b"));
        _time.Advance((Lease / 2) + Margin);
        var after = book.Assignments();
        Assert.All(before.Where(x => x.Revoking), x => Assert.Null(after.Single(y => y.Partition == x.Partition).Owner));
        Assert.All(before.Where(x => !x.Revoking), x => Assert.Equal("a", after.Single(y => y.Partition == x.Partition).Owner));
    }

    [Fact]
    public void Renew_FromASiloTheBookDoesNotCountAsLive_RenewsNothing()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("b", held: []), Members("a", "b"));

        // Silent for a lease: a is no longer one of the group's silos, and must heartbeat first.
        _time.Advance(Lease);
        Assert.Empty(book.Renew("a", null, a, Members("a", "b")).Grants);
        Assert.Empty(book.Renew("c", null, a, Members("a", "b", "c")).Grants);
    }

    [Fact]
    public void Assignments_ListEveryPartitionWithOwnerAndEpoch()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a"));

        var assignments = book.Assignments();

        Assert.Equal(4, assignments.Count);
        Assert.All(assignments, x => Assert.Equal(("a", false), (x.Owner, x.Revoking)));
        Assert.All(assignments, x => Assert.True(x.Epoch > 0));
    }

    [Fact]
    public void Heartbeat_SiloWithOtherTopicsForTheGroup_IsRejectedAndGrantedNothing_WhileTheOthersKeepTheirs()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;

        var b = book.Heartbeat(Beat("b", held: []) with { Topics = new Dictionary<string, int> { ["t"] = 4, ["u"] = 2 } }, Members("a", "b"));
        var a2 = book.Heartbeat(Beat("a", held: a), Members("a", "b"));

        Assert.Empty(b.Grants);
        Assert.Equal("this silo processes topic(s) [t, u] for the group, but silo a processes [t]. Every silo must configure the same topics for a consumer group; this silo is granted none of its partitions.", b.Rejected);
        Assert.Null(a2.Rejected);
        Assert.Equal(a, a2.Grants);
    }

    [Fact]
    public void Heartbeat_SiloWithOtherTopics_IsAcceptedOnceTheSilosItDisagreedWithAreGone()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a"));
        var changed = Beat("b", held: []) with { Topics = new Dictionary<string, int> { ["u"] = 2 } };
        Assert.NotNull(book.Heartbeat(changed, Members("a", "b")).Rejected);

        var after = book.Heartbeat(changed, Dead(active: "b", dead: "a"));

        Assert.Null(after.Rejected);
        Assert.Equal(2, after.Grants.Count(g => g.Topic == "u"));
    }

    [Fact]
    public void Heartbeat_SiloDiesAndRestartsWithItsIdentity_ItsPartitionsAreTheOnesThatMoveBack()
    {
        // A fresh lease grain adopts what the silos report: b holds partitions 0 and 1, a holds 2 and 3
        // (the reverse of what the assignment would pick by itself, so a match below is no accident).
        var book = new LeaseBook(_time, Lease);
        LeaseGrant[] ofA = [new("t", 2, 5), new("t", 3, 5)];
        LeaseGrant[] ofB = [new("t", 0, 5), new("t", 1, 5)];
        book.Heartbeat(Beat("a", held: ofA), Members("a", "b"));
        Assert.Equal(ofB, book.Heartbeat(Beat("b", held: ofB), Members("a", "b")).Grants);

        // b dies; a renews its own halfway, and gets b's once b's leases have run out.
        _time.Advance(Lease / 2);
        book.Heartbeat(Beat("a", held: ofA), Dead(active: "a", dead: "b"));
        _time.Advance(Lease / 2 + Margin);
        var aAll = book.Heartbeat(Beat("a", held: ofA), Dead(active: "a", dead: "b")).Grants;
        Assert.Equal(4, aAll.Count);

        book.Heartbeat(Beat("b", held: []), Members("a", "b"));
        var aAfter = book.Heartbeat(Beat("a", held: aAll), Members("a", "b")).Grants;

        Assert.Equal([0, 1], aAll.Except(aAfter).Select(g => g.Partition).Order());
    }

    [Fact]
    public void Heartbeat_OwnerNoLongerReportsAPartitionItWasGranted_ItIsGrantedAgainWithAHigherEpochNotRenewed()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a"));
        _time.Advance(Lease); // past the lease grain's recovery grace
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        var lost = a[0];

        // The silo lost partition 0 locally (its lease ran out while the lease grain was unreachable) and reports the rest.
        var after = book.Heartbeat(Beat("a", held: a.Skip(1).ToArray()), Members("a")).Grants;

        var again = Assert.Single(after, g => g.Partition == lost.Partition);
        Assert.True(again.Epoch > lost.Epoch, $"partition {lost.Partition} was renewed at epoch {again.Epoch} to a silo that no longer holds it");
    }

    [Fact]
    public void Heartbeat_LeavingSiloWithOtherTopics_IsNotRefusedItsReleasesAndCreatesNoSlots()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        var leaving = Beat("b", held: []) with { Topics = new Dictionary<string, int> { ["u"] = 2 }, Leaving = true };

        var answer = book.Heartbeat(leaving, Members("a", "b"));

        Assert.Null(answer.Rejected);
        Assert.Empty(answer.Grants);
        Assert.DoesNotContain(book.Assignments(), s => s.Topic == "u");
        Assert.Equal(a, book.Heartbeat(Beat("a", held: a), Members("a")).Grants);
    }

    [Fact]
    public void Heartbeat_GrantNeverDeliveredIsTakenBackAtOnce_NotAfterALease()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a"));
        _time.Advance(Lease); // past the lease grain's recovery grace
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("b", held: []), Members("a", "b"));
        var kept = book.Heartbeat(Beat("a", held: a), Members("a", "b")).Grants;
        var released = a.Except(kept).ToArray();

        // a's release hands two partitions to b, which leaves before its next heartbeat could deliver them.
        book.Heartbeat(Beat("a", held: kept, released: released), Members("a", "b"));
        book.Heartbeat(Beat("b", held: []) with { Leaving = true }, Members("a", "b"));
        var after = book.Heartbeat(Beat("a", held: kept), Members("a")).Grants;

        Assert.Equal(4, after.Count);
    }

    [Fact]
    public void SilosWithNews_NamesTheOwnerToRevokeFrom_ThenTheSiloGrantedThePartition()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        Assert.Empty(book.SilosWithNews("a"));

        book.Heartbeat(Beat("b", held: []), Members("a", "b"));
        Assert.Equal(["a"], book.SilosWithNews("b"));

        var kept = book.Heartbeat(Beat("a", held: a), Members("a", "b")).Grants;
        Assert.Empty(book.SilosWithNews("a"));

        book.Heartbeat(Beat("a", held: kept, released: a.Except(kept).ToArray()), Members("a", "b"));
        Assert.Equal(["b"], book.SilosWithNews("a"));

        Assert.Equal(2, book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants.Count);
        Assert.Empty(book.SilosWithNews("b"));
    }

    [Fact]
    public void Heartbeat_AfterGrainRestart_ASiloHoldingLeasesWinsOverAMisconfiguredSiloThatReportedFirst()
    {
        var book = new LeaseBook(_time, Lease);
        var misconfigured = Beat("x", held: []) with { Topics = new Dictionary<string, int> { ["u"] = 2 } };
        Assert.Null(book.Heartbeat(misconfigured, Members("a", "x")).Rejected);

        LeaseGrant[] held = [new("t", 0, 3), new("t", 1, 3), new("t", 2, 3), new("t", 3, 3)];
        var a = book.Heartbeat(Beat("a", held: held), Members("a", "x"));
        var x = book.Heartbeat(misconfigured, Members("a", "x"));

        Assert.Null(a.Rejected);
        Assert.Equal(held, a.Grants);
        Assert.NotNull(x.Rejected);
        Assert.Empty(x.Grants);
    }

    [Fact]
    public void Heartbeat_SiloStillReportsAnOlderEpochOfAPartitionGrantedAgain_KeepsTheNewGrant()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a"));
        _time.Advance(Lease); // past the lease grain's recovery grace
        var first = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;

        // Partition 0 is granted again under a newer epoch while a still reports the old one (its old feed is stopping).
        var lost = book.Heartbeat(Beat("a", held: first.Skip(1).ToArray()), Members("a")).Grants.Single(g => g.Partition == 0);
        var next = book.Heartbeat(Beat("a", held: [.. first.Skip(1), first[0]]), Members("a")).Grants.Single(g => g.Partition == 0);

        Assert.Equal(lost.Epoch, next.Epoch);
    }

    [Fact]
    public void Heartbeat_ReleasedPartition_IsGrantedWithTheReleasedCommittedOffset_ButNotAfterAnExpiry()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("b", held: []), Members("a", "b"));
        var kept = book.Heartbeat(Beat("a", held: a), Members("a", "b")).Grants;
        var released = a.Except(kept).Select((g, i) => g with { Offset = 40 + i }).ToArray();

        book.Heartbeat(Beat("a", held: kept, released: released), Members("a", "b"));
        var b = book.Heartbeat(Beat("b", held: []), Members("a", "b")).Grants;
        var renewed = book.Heartbeat(Beat("b", held: b), Members("a", "b")).Grants;

        Assert.Equal(released.Select(r => (r.Partition, r.Offset)), b.Select(g => (g.Partition, g.Offset)));
        Assert.All(renewed, g => Assert.Equal(-1, g.Offset));

        // a stops reporting: its partitions expire and go to b with nothing handed over.
        _time.Advance(Lease + Margin);
        var afterExpiry = book.Heartbeat(Beat("b", held: renewed), Members("a", "b")).Grants;
        Assert.Equal(4, afterExpiry.Count);
        Assert.All(afterExpiry, g => Assert.Equal(-1, g.Offset));
    }

    [Fact]
    public void Heartbeat_TopicNoLiveSiloProcessesAnyMore_IsNotGranted_AndWakesNobody()
    {
        var book = new LeaseBook(_time, Lease);
        var a = book.Heartbeat(Beat("a", held: []), Members("a")).Grants;
        book.Heartbeat(Beat("a", held: []) with { Leaving = true, Released = a }, Members("a"));
        var onlyU = new Dictionary<string, int> { ["u"] = 2 };

        var b = book.Heartbeat(Beat("b", held: []) with { Topics = onlyU }, Members("b")).Grants;
        var c = book.Heartbeat(Beat("c", held: []) with { Topics = onlyU }, Members("b", "c")).Grants;

        Assert.All(b.Concat(c), g => Assert.Equal("u", g.Topic));
        Assert.DoesNotContain(book.Assignments(), x => x.Topic == "t" && x.Owner is not null);
    }

    [Fact]
    public void Heartbeat_SiloReportsAWeight_GetsThatShareOfThePartitions()
    {
        var book = new LeaseBook(_time, Lease);
        book.Heartbeat(Beat("a", held: []), Members("a", "b"));

        var b = book.Heartbeat(Beat("b", held: []) with { Weight = 3 }, Members("a", "b")).Grants;
        var a = book.Heartbeat(Beat("a", held: []), Members("a", "b")).Grants;

        Assert.Single(a);
        Assert.Equal(3, b.Count);
    }

    private static SiloHeartbeat Beat(string silo, IReadOnlyList<LeaseGrant> held, IReadOnlyList<LeaseGrant>? released = null) => new()
    {
        SiloId = silo,
        Topics = new Dictionary<string, int> { ["t"] = 4 },
        Held = held,
        Released = released ?? [],
    };

    private static MembershipView Members(params string[] active) => new(Set(active), Set(), Set());

    private static MembershipView Dead(string active, string dead) => new(Set(active), Set(dead), Set());

    private static HashSet<string> Set(params string[] items) => new(items, StringComparer.Ordinal);
}
