using System.Diagnostics;

namespace OrleansKafka.Bench;

/// <summary>Counts the records a processor finished and when the first and the last did, for a rate (keys, holdkey).</summary>
internal sealed class AwaitClock
{
    private long _count;
    private long _firstAt;
    private long _lastAt;

    public long Count => Interlocked.Read(ref _count);

    public long FirstAt => Interlocked.Read(ref _firstAt);

    public long LastAt => Interlocked.Read(ref _lastAt);

    public void Done()
    {
        var now = Stopwatch.GetTimestamp();
        if (Interlocked.Increment(ref _count) == 1)
        {
            Interlocked.Exchange(ref _firstAt, now);
        }

        Interlocked.Exchange(ref _lastAt, now);
    }
}
