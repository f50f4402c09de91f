using Microsoft.Extensions.Time.Testing;
using OrleansKafka.LeaseGrain;

namespace OrleansKafka.Tests.LeaseGrain;

public sealed class StallGuardTests
{
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan VerifyFor = TimeSpan.FromSeconds(2);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void MustVerify_HeartbeatsAtTheRenewPace_NeverAsks()
    {
        var guard = new StallGuard(_time, StallLimit, VerifyFor);

        for (var i = 0; i < 20; i++)
        {
            Assert.False(guard.MustVerify());
            _time.Advance(StallLimit);
        }
    }

    [Fact]
    public void MustVerify_AfterAPauseLongerThanTheLimit_AsksUntilALeaseHasPassed_ThenStops()
    {
        var guard = new StallGuard(_time, StallLimit, VerifyFor);
        guard.MustVerify();

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(guard.MustVerify());

        // Heartbeats at the renew pace again: still asked until the window after the stall ends.
        var step = TimeSpan.FromMilliseconds(500);
        for (var elapsed = step; elapsed < VerifyFor; elapsed += step)
        {
            _time.Advance(step);
            Assert.True(guard.MustVerify(), $"not asked {elapsed} after the stall");
        }

        _time.Advance(step);
        Assert.False(guard.MustVerify());
    }
}
