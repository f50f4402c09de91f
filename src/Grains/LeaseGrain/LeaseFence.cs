using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace OrleansKafka.LeaseGrain;

/// <summary>
/// Makes sure at most one activation of a group's lease grain answers heartbeats, even while the
/// grain directory lets two live at once (a silo joining, views that diverge, a silo declared
/// dead that keeps running): a record per group in grain storage, written with its ETag. An
/// activation takes the next generation when it starts and renews every <see cref="RenewInterval"/>;
/// it may answer only while its last successful write was sent less than <see cref="Validity"/>
/// ago; an ETag conflict means a newer activation wrote, and this one is done for good.
/// </summary>
/// <remarks>
/// Time is on this activation's own monotonic clock only; nothing is compared across silos. An
/// older activation's last successful write was sent before a newer one's first write succeeded,
/// so the older one answers nothing later than <see cref="Validity"/> (plus the clocks' drift
/// margin) after the newer one took the fence. The lease book of the newer one adds that to the
/// wait before it grants a partition nobody reported (docs/architecture.md, "The lease rule").
/// </remarks>
internal sealed partial class LeaseFence(IPersistentState<LeaseFenceRecord> record, TimeProvider time, string group, ILogger logger)
{
    /// <summary>How often the fence is written.</summary>
    public static readonly TimeSpan RenewInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long a successful write lets this activation answer. A stale fence only makes the grain
    /// refuse heartbeats until its next write succeeds, which silos ride out (a lease is four renew
    /// intervals); it is added to the failover of the grain's own silo (docs/benchmarks.md, failover).
    /// </summary>
    public static readonly TimeSpan Validity = TimeSpan.FromMilliseconds(500);

    /// <summary>How much later than a moment on the grain's clock a grain timer is set, so that it does not fire a timer tick early.</summary>
    public static readonly TimeSpan TimerSlack = TimeSpan.FromMilliseconds(20);

    private const int TakeAttempts = 3;
    private long _renewedAt = long.MinValue;
    private Task? _renewing;
    private bool _failing;

    /// <summary>True once a newer activation took the fence: this one must never answer again.</summary>
    public bool IsLost { get; private set; }

    /// <summary>The generation this activation holds.</summary>
    public long Generation => record.State.Generation;

    /// <summary>Whether this activation may answer now: it holds the fence and renewed it within <see cref="Validity"/>.</summary>
    public bool IsValid => !IsLost && _renewedAt != long.MinValue && time.GetElapsedTime(_renewedAt) < Validity;

    /// <summary>Takes the next generation: read, increment, write with the ETag read; again if another activation wrote in between.</summary>
    /// <exception cref="InconsistentStateException">Other activations kept writing; this activation must not start.</exception>
    public async Task TakeAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await record.ReadStateAsync();
                record.State.Generation++;
                record.State.Renewals = 0;
                var sent = time.GetTimestamp();
                await record.WriteStateAsync();
                _renewedAt = sent;
                LogTaken(logger, group, record.State.Generation);
                return;
            }
            catch (InconsistentStateException) when (attempt < TakeAttempts)
            {
                // Another activation wrote between our read and our write: read its generation and go past it.
            }
        }
    }

    /// <summary>
    /// Whether this activation may answer now. A fence gone stale is written first: a renewal timer
    /// that fired late (a busy silo) must not refuse a heartbeat that the store would allow.
    /// </summary>
    public async ValueTask<bool> EnsureValidAsync()
    {
        // Twice at most: the first may only join a write sent too long ago to count.
        for (var attempt = 0; attempt < 2 && !IsValid && !IsLost; attempt++)
        {
            await RenewAsync();
        }

        return IsValid;
    }

    /// <summary>
    /// Writes the fence again; on an ETag conflict the fence is lost for good, on any other failure
    /// it stays valid until it runs out. A call while a write is under way waits for that write
    /// rather than starting another: two writes from one activation would refuse each other's ETag.
    /// </summary>
    public async Task RenewAsync()
    {
        if (_renewing is { IsCompleted: false } running)
        {
            await running;
            return;
        }

        var write = WriteAsync();
        if (write.IsCompleted)
        {
            await write;
            return;
        }

        _renewing = write;
        try
        {
            await write;
        }
        finally
        {
            // Only its own: a later write may have started as this one completed.
            if (ReferenceEquals(_renewing, write))
            {
                _renewing = null;
            }
        }
    }

    private async Task WriteAsync()
    {
        if (IsLost)
        {
            return;
        }

        var sent = time.GetTimestamp();
        try
        {
            record.State.Renewals++;
            await record.WriteStateAsync();
            _renewedAt = sent;
            if (_failing)
            {
                _failing = false;
                LogRenewedAgain(logger, group, Generation);
            }
        }
        catch (InconsistentStateException)
        {
            IsLost = true;
            LogLost(logger, group, Generation);
        }
        catch (Exception ex)
        {
            if (!_failing)
            {
                _failing = true;
                LogRenewFailed(logger, ex, group, Generation, Validity.TotalMilliseconds);
            }
        }
    }

    [LoggerMessage(EventId = 4011, Level = LogLevel.Debug, Message = "Lease grain of consumer group {Group} took fence generation {Generation}")]
    private static partial void LogTaken(ILogger logger, string group, long generation);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "Lease grain of consumer group {Group}: another activation took the fence (this one held generation {Generation}); this one stops answering and deactivates")]
    private static partial void LogLost(ILogger logger, string group, long generation);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "Lease grain of consumer group {Group}: writing its fence (generation {Generation}) to grain storage failed; it stops answering heartbeats {Validity} ms after its last successful write, and leases run out, until the store answers again")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string group, long generation, double validity);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "Lease grain of consumer group {Group}: its fence (generation {Generation}) is written again")]
    private static partial void LogRenewedAgain(ILogger logger, string group, long generation);
}
