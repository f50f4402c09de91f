using Microsoft.Extensions.Logging;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// The partition's control state in grain storage: an operator's pause, the record it holds at,
/// and the ownership history. Writes go one at a time (commands interleave with deliveries, and each write needs
/// the ETag of the last), and a write that fails leaves the state as it was.
/// </summary>
internal sealed partial class PartitionControlStore(string grainKey, string silo, IPersistentState<PartitionControl> control, TimeProvider time, ILogger logger)
{
    private readonly SemaphoreSlim _writes = new(1, 1);

    /// <summary>When an operator paused the partition; null while it runs.</summary>
    public DateTimeOffset? PausedSince => control.State.PausedSince;

    /// <summary>The owners, oldest first.</summary>
    public IReadOnlyList<OwnershipRecord> History => [.. control.State.History];

    /// <summary>The record the partition holds at, as stored; null when it holds at none.</summary>
    public StoredHold? Hold => control.State.Hold;

    /// <summary>
    /// Stores the record the partition now holds at, so that the next activation holds there too.
    /// A write that fails keeps the hold in this activation only, and says so.
    /// </summary>
    public async Task SaveHoldAsync(HeldRecord held)
    {
        control.State.Hold = StoredHold.Of(held);
        await TryWriteAsync(held.Offset);
    }

    /// <summary>The partition holds at no record any more (decided, or sought past).</summary>
    public async Task ClearHoldAsync()
    {
        if (control.State.Hold is { } hold)
        {
            control.State.Hold = null;
            await TryWriteAsync(hold.Offset);
        }
    }

    /// <summary>The keys the partition holds, as stored.</summary>
    public IReadOnlyList<StoredKeyHold> KeyHolds => control.State.KeyHolds;

    /// <summary>Resolved held records not yet committed past, as stored.</summary>
    public IReadOnlyList<long> ResolvedOffsets => control.State.ResolvedOffsets;

    /// <summary>
    /// Stores the partition's held keys as they are now, so that the next activation holds them
    /// too. A write that fails keeps them in this activation only, and says so.
    /// </summary>
    public async Task SaveKeyHoldsAsync(HeldKeys keys)
    {
        control.State.KeyHolds = keys.ToStored();
        control.State.ResolvedOffsets = [.. keys.ResolvedOffsets];
        await TryWriteAsync(keys.LowestOffset ?? -1);
    }

    private async Task TryWriteAsync(long heldOffset)
    {
        try
        {
            await WriteAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogHoldWriteFailed(logger, ex, grainKey, heldOffset);
        }
    }

    /// <summary>Pauses the partition, stored before it counts; nothing changes when the write fails.</summary>
    public async Task PauseAsync()
    {
        if (control.State.PausedSince is not null)
        {
            return;
        }

        control.State.PausedSince = time.GetUtcNow();
        try
        {
            await WriteAsync();
        }
        catch
        {
            // Not stored, so not paused: the operator sees the error and nothing changed.
            control.State.PausedSince = null;
            throw;
        }

        LogPaused(logger, grainKey, silo);
    }

    /// <summary>Resumes a paused partition, stored before it counts; it stays paused when the write fails.</summary>
    public async Task ResumeAsync()
    {
        if (control.State.PausedSince is not { } pausedSince)
        {
            return;
        }

        control.State.PausedSince = null;
        try
        {
            await WriteAsync();
        }
        catch
        {
            // Not stored, so still paused: a resume stored later must find it so.
            control.State.PausedSince = pausedSince;
            throw;
        }

        LogResumed(logger, grainKey, silo);
    }

    /// <summary>
    /// Adds this silo's lease to the ownership history, once per epoch: at the first delivery, or
    /// sooner when someone looks (a partition without records gets no delivery).
    /// </summary>
    public async Task RecordOwnerAsync(LocalLease lease)
    {
        var history = control.State.History;
        if (history.Count > 0 && history[^1].Epoch >= lease.Epoch)
        {
            return;
        }

        history.Add(new OwnershipRecord { Silo = silo, Epoch = lease.Epoch, Since = lease.GrantedAt, Reason = lease.Reason, Detail = lease.Detail });
        if (history.Count > PartitionControl.MaxHistory)
        {
            history.RemoveRange(0, history.Count - PartitionControl.MaxHistory);
        }

        try
        {
            await WriteAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The history is for people; processing does not wait for a storage that fails.
            LogWriteFailed(logger, ex, grainKey);
        }
    }

    private async Task WriteAsync()
    {
        await _writes.WaitAsync();
        try
        {
            await control.WriteStateAsync();
        }
        finally
        {
            _writes.Release();
        }
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Partition {GrainKey} paused by an operator (on silo {Silo}); it processes nothing until resumed")]
    private static partial void LogPaused(ILogger logger, string grainKey, string silo);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Partition {GrainKey} resumed by an operator (on silo {Silo})")]
    private static partial void LogResumed(ILogger logger, string grainKey, string silo);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "Could not store the hold of partition {GrainKey} at offset {Offset}; this activation holds, a later one may not know")]
    private static partial void LogHoldWriteFailed(ILogger logger, Exception exception, string grainKey, long offset);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Warning, Message = "Could not write the ownership history of partition {GrainKey}; processing goes on")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string grainKey);
}
