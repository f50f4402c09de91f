using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.LeaseProtocol;

namespace OrleansKafka.Tests.Leases;

/// <summary>
/// The clock lease deadlines are on: CLOCK_BOOTTIME with the system clock on Linux (it counts
/// across a suspend, which CLOCK_MONOTONIC does not), a test's fake clock as it is.
/// </summary>
public sealed class LeaseClockTests
{
    [Fact]
    public void OnTheSystemClock_ReadsTheTimeSinceBoot_InNanoseconds_AndRunsAtTheMonotonicClocksRate()
    {
        var clock = new LeaseClock(TimeProvider.System);
        Assert.True(clock.ReadsBootTime);
        Assert.Equal(1_000_000_000, clock.TimestampFrequency);

        // /proc/uptime is the kernel's time since boot, suspends included: the same clock.
        var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
        var seconds = clock.GetTimestamp() / 1e9;
        Assert.InRange(seconds - uptime, -0.5, 1.0);

        var start = clock.GetTimestamp();
        var watch = Stopwatch.StartNew();
        Assert.True(SpinWait.SpinUntil(() => watch.ElapsedMilliseconds >= 200, TimeSpan.FromSeconds(5)));
        var elapsed = clock.GetElapsedTime(start);
        watch.Stop();
        Assert.InRange(elapsed.TotalMilliseconds, 200, watch.Elapsed.TotalMilliseconds + 1);
    }

    [Fact]
    public void OnAFakeClock_IsThatClock_TimestampsTimersAndWallClock()
    {
        var fake = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T12:00:00Z", CultureInfo.InvariantCulture));
        var clock = new LeaseClock(fake);
        Assert.False(clock.ReadsBootTime);

        var start = clock.GetTimestamp();
        var fired = false;
        using var timer = clock.CreateTimer(_ => fired = true, null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        fake.Advance(TimeSpan.FromSeconds(2));

        Assert.True(fired);
        Assert.Equal(TimeSpan.FromSeconds(2), clock.GetElapsedTime(start));
        Assert.Equal(fake.GetUtcNow(), clock.GetUtcNow());
    }
}
