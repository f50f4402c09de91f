using Confluent.Kafka;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Leasing.Silo;

namespace OrleansKafka.Tests.Leasing.Silo;

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

    private LocalLease NewLease() => new("g", new TopicPartition("t", 0), 1, _time.GetTimestamp() + Lease.Ticks, _time);
}
