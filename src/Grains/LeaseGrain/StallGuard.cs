namespace OrleansKafka.LeaseGrain;

/// <summary>
/// Tells a lease grain when it must first confirm with the membership table that its own silo is
/// still an active member before it answers a heartbeat.
/// </summary>
/// <remarks>
/// A lease grain whose silo was frozen (SIGSTOP, a long GC pause, a stalled VM) may have been
/// declared dead meanwhile, with a new activation of the same grain on another silo granting its
/// partitions on. Resumed, the old activation would still answer the silos that reach it (its own
/// above all, until it learns of its death), renewing leases the new one has given away. A stall
/// shows on the grain's own monotonic clock as a pause between heartbeats far longer than the
/// renew interval; after one, and for a lease and its margin after it (a death can still be
/// declared from probes missed during the stall), every answer waits for a fresh read of the
/// table. In steady operation nothing is read.
/// </remarks>
internal sealed class StallGuard(TimeProvider time, TimeSpan stallLimit, TimeSpan verifyFor)
{
    private long _last = -1;
    private long _verifyUntil = long.MinValue;

    /// <summary>Records a heartbeat handled now; true when membership must be confirmed before it is answered.</summary>
    public bool MustVerify()
    {
        var now = time.GetTimestamp();
        if (_last >= 0 && time.GetElapsedTime(_last, now) > stallLimit)
        {
            _verifyUntil = now + (long)(verifyFor.TotalSeconds * time.TimestampFrequency);
        }

        _last = now;
        return now < _verifyUntil;
    }
}
