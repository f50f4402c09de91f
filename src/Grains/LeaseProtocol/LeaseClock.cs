using System.Runtime.InteropServices;

namespace OrleansKafka.LeaseProtocol;

/// <summary>
/// The clock lease deadlines are counted on, on both sides of the protocol (the holder's
/// <c>LocalLease</c>, the lease grain's book). On Linux with the system clock it reads
/// <c>CLOCK_BOOTTIME</c>: monotonic like <c>CLOCK_MONOTONIC</c> (what <see cref="TimeProvider.System"/>
/// reads), but it keeps counting while the machine is suspended (a VM paused, checkpointed and
/// restored, a laptop asleep), so a holder that resumes finds its lease run out instead of
/// believing it current while the lease grain, which did not stop, granted the partition again.
/// Any other time provider (a test's fake clock) is used as it is.
/// </summary>
/// <remarks>
/// Only timestamps change: timers still come from the inner provider (on the system clock they
/// fire late after a suspend, but every check before a commit reads the timestamp), and the wall
/// clock is the inner provider's.
/// </remarks>
internal sealed partial class LeaseClock : TimeProvider
{
    private const int ClockBootTime = 7;
    private const long NanosecondsPerSecond = 1_000_000_000;
    private readonly TimeProvider _inner;

    public LeaseClock(TimeProvider inner)
    {
        _inner = inner;
        ReadsBootTime = ReferenceEquals(inner, System) && OperatingSystem.IsLinux() && ReadBootTime(out _);
    }

    /// <summary>True when timestamps come from <c>CLOCK_BOOTTIME</c>; false when they are the inner provider's.</summary>
    public bool ReadsBootTime { get; }

    public override long TimestampFrequency => ReadsBootTime ? NanosecondsPerSecond : _inner.TimestampFrequency;

    public override long GetTimestamp() => ReadsBootTime && ReadBootTime(out var nanoseconds) ? nanoseconds : _inner.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        _inner.CreateTimer(callback, state, dueTime, period);

    private static bool ReadBootTime(out long nanoseconds)
    {
        if (ClockGetTime(ClockBootTime, out var now) != 0)
        {
            nanoseconds = 0;
            return false;
        }

        nanoseconds = (now.Seconds * NanosecondsPerSecond) + now.Nanoseconds;
        return true;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);

    /// <summary>C's <c>struct timespec</c> on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
