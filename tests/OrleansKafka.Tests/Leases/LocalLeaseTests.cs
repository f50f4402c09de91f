using Confluent.Kafka;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Leases;

namespace OrleansKafka.Tests.Leases;

public sealed class LocalLeaseTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Deadline_Passes_TokenFiresAndNothingMayBeCommitted()
    {
        var lease = NewLease();

        _time.Advance(Lease - TimeSpan.FromMilliseconds(1));
        Assert.True(lease.IsCurrent);
        Assert.False(lease.Token.IsCancellationRequested);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(lease.Token.IsCancellationRequested, "the processor's token did not fire at the deadline");
        Assert.False(lease.IsCurrent);
        Assert.False(lease.CanCommit);
    }

    [Fact]
    public void Renew_BeforeTheDeadline_MovesItAndTheTokensTimer()
    {
        var lease = NewLease();
        _time.Advance(Lease / 2);

        Assert.True(lease.Renew(_time.GetTimestamp() + Lease.Ticks));
        _time.Advance(Lease - TimeSpan.FromMilliseconds(1));

        Assert.True(lease.IsCurrent);
        Assert.False(lease.Token.IsCancellationRequested);
    }

    [Fact]
    public void Renew_AnswerArrivingAfterTheDeadline_IsRefused_TheLeaseStaysOver()
    {
        // The heartbeat was sent in time but its answer came late: by then the partition's
        // processing had stopped at the deadline, so the lease must not become current again with
        // nothing running under it (the partition would stay owned and never process).
        var lease = NewLease();
        var sentAt = _time.GetTimestamp() + (Lease - TimeSpan.FromMilliseconds(100)).Ticks;
        _time.Advance(Lease + TimeSpan.FromMilliseconds(1));

        Assert.False(lease.Renew(sentAt + Lease.Ticks));
        Assert.False(lease.IsCurrent);
    }

    [Fact]
    public void Renew_OfALeaseBeingGivenUp_LetsItsDrainCommitPastTheOldDeadline_ButItStaysStopped()
    {
        // An operator's seek gives the lease up on this silo's initiative: the lease grain keeps
        // renewing it until the release is reported. On a busy silo the drain (the delivery in flight
        // finishing, the flush of the processed offsets on the control thread) can outlast the lease; refusing
        // those renewals let the lease run out mid-drain, the flush was skipped, and the next
        // owner processed the drained records again.
        var lease = NewLease();
        _time.Advance(Lease / 2);
        lease.Revoke();

        Assert.True(lease.Renew(_time.GetTimestamp() + Lease.Ticks), "the renewal of a lease being given up was refused");
        _time.Advance(Lease - TimeSpan.FromMilliseconds(1));

        Assert.True(lease.CanCommit, "the drained work can no longer be committed, although the lease grain renewed the lease");
        Assert.False(lease.IsCurrent);
        Assert.True(lease.Token.IsCancellationRequested);

        lease.Lose();
        Assert.False(lease.Renew(_time.GetTimestamp() + Lease.Ticks), "a lost lease was renewed");
        Assert.False(lease.CanCommit);
    }

    private LocalLease NewLease() => new("g", new TopicPartition("t", 0), 1, _time.GetTimestamp() + Lease.Ticks, _time);
}
