using Confluent.Kafka;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Leases;

namespace OrleansKafka.Tests.Leases;

/// <summary>Which leases this silo knows to have ended: what its grains refuse calls under.</summary>
public sealed class LeaseTableTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly LeaseTable _table = new();

    [Fact]
    public void AHeldLease_HasNotEnded_WhileCurrentOrDraining_ButOlderEpochsHave()
    {
        var lease = Held(epoch: 4);

        Assert.False(_table.HasEnded(lease.GrainKey, 4));
        Assert.True(_table.HasEnded(lease.GrainKey, 3), "an epoch older than the one held here was not over");
        Assert.False(_table.HasEnded(lease.GrainKey, 5), "a newer epoch (another silo's) was judged here");

        // A hand-over waits for the calls already sent: they must still run.
        lease.Revoke();
        Assert.False(_table.HasEnded(lease.GrainKey, 4), "a draining lease's calls were refused");
    }

    [Fact]
    public void AHeldLease_HasEnded_OnceItsDeadlinePasses_BeforeAnythingActsOnIt()
    {
        // A frozen silo, just thawed: the deadline has passed, the agent has not yet run.
        var lease = Held(epoch: 4);
        _time.Advance(Lease);

        Assert.True(_table.HasEnded(lease.GrainKey, 4));
    }

    [Fact]
    public void ALostLease_HasEnded_AndStaysEnded_AfterItLeavesTheTable()
    {
        var lease = Held(epoch: 4);
        lease.Lose();
        Assert.True(_table.HasEnded(lease.GrainKey, 4));

        _table.Remove(lease);

        Assert.True(_table.HasEnded(lease.GrainKey, 4), "the epoch was forgotten when the lease left the table");
        Assert.True(_table.HasEnded(lease.GrainKey, 2));
        Assert.False(_table.HasEnded(lease.GrainKey, 5));
        Assert.False(_table.HasEnded("g/t/1", 4), "another partition's epochs were judged by this one's");
    }

    [Fact]
    public void ALeaseTakenUp_UnderAnEpochBelowOneRemembered_IsNotRefused()
    {
        // Epochs went down (a lease grain whose stored state was lost): the new owner's calls run.
        var old = Held(epoch: 9);
        old.Lose();
        _table.Remove(old);

        var taken = Held(epoch: 3);

        Assert.False(_table.HasEnded(taken.GrainKey, 3), "a remembered epoch refused the lease this silo holds now");
        Assert.True(_table.HasEnded(taken.GrainKey, 2));
    }

    private LocalLease Held(long epoch)
    {
        var lease = new LocalLease("g", new TopicPartition("t", 0), epoch, _time.GetTimestamp() + Lease.Ticks, _time);
        _table.Add(lease);
        return lease;
    }
}
