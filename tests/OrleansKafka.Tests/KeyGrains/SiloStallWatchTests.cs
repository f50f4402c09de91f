using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using OrleansKafka.KeyGrains;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.KeyGrains;

/// <summary>When key grains on a silo that stood still take records again: only once membership says it is still a member.</summary>
public sealed class SiloStallWatchTests
{
    private static readonly TimeSpan Threshold = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly TaskCompletionSource<bool> _membership = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _checks;

    [Fact]
    public void Ticking_AtItsPace_KeyGrainsRun()
    {
        using var watch = Started();

        for (var i = 0; i < 30; i++)
        {
            _time.Advance(SiloStallWatch.TickInterval);
            Assert.True(watch.MayRun);
        }

        Assert.Equal(0, _checks);
    }

    [Fact]
    public async Task AStall_RefusesAtOnce_BeforeAnyTick_AndUntilMembershipShowsTheSiloActive()
    {
        using var watch = Started();
        _time.Advance(SiloStallWatch.TickInterval);

        // Frozen: the clock moves on, no tick runs. A call queued before the freeze runs first after it.
        _time.AdjustTime(_time.GetUtcNow() + TimeSpan.FromSeconds(5));
        Assert.False(watch.MayRun, "a call ran after a stall before the watch had ticked");

        // The first tick after the thaw marks the stall and asks membership, which has not answered yet.
        _time.Advance(SiloStallWatch.TickInterval);
        Assert.False(watch.MayRun);
        Assert.Equal(1, _checks);
        _time.Advance(SiloStallWatch.TickInterval);
        Assert.False(watch.MayRun, "key grains ran again before membership answered");

        _membership.SetResult(true);
        Assert.True(await Poll.UntilAsync(() => watch.MayRun, TimeSpan.FromSeconds(10)), "still refusing after membership showed the silo active");
    }

    [Fact]
    public async Task AStallWhileMembershipIsRead_NeedsAReadAfterIt()
    {
        using var watch = Started();
        Stall();
        Assert.Equal(1, _checks);

        // A second stall while the first read is still out: that read's answer does not cover it.
        Stall();
        _membership.SetResult(true);

        Assert.True(await Poll.UntilAsync(() => watch.MayRun, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, _checks);
    }

    [Fact]
    public void ThePauseTakenForAStall_IsAtMostAProbeTimeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), SiloStallWatch.ThresholdFor(new ClusterMembershipOptions { ProbeTimeout = TimeSpan.FromSeconds(5), NumMissedProbesLimit = 3 }));
        Assert.Equal(TimeSpan.FromMilliseconds(400), SiloStallWatch.ThresholdFor(new ClusterMembershipOptions { ProbeTimeout = TimeSpan.FromMilliseconds(400), NumMissedProbesLimit = 3 }));
    }

    /// <summary>The clock moves 5 s with no tick (a freeze), then the first tick after it runs.</summary>
    private void Stall()
    {
        _time.AdjustTime(_time.GetUtcNow() + TimeSpan.FromSeconds(5));
        _time.Advance(SiloStallWatch.TickInterval);
    }

    private SiloStallWatch Started()
    {
        var watch = new SiloStallWatch(
            _time,
            Threshold,
            _ => { Interlocked.Increment(ref _checks); return _membership.Task; },
            tick => _time.CreateTimer(_ => tick(), null, SiloStallWatch.TickInterval, SiloStallWatch.TickInterval),
            NullLogger<SiloStallWatch>.Instance);
        watch.Start();
        return watch;
    }
}
