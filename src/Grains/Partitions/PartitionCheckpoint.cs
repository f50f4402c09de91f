using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Leases;
using OrleansKafka.Processing.State;

namespace OrleansKafka.Partitions;

/// <summary>
/// Where a partition's processing stands under the current lease (the next offset to process),
/// and, for a processor with exactly-once state, that state stored together with the offset it
/// covers in one ETag-guarded grain-storage write. The stored offset, not Kafka's committed one,
/// is where a stateful partition starts.
/// </summary>
/// <remarks>Used only inside the partition grain's turns, so it needs no lock.</remarks>
internal sealed partial class PartitionCheckpoint(
    string grainKey,
    IPersistentState<ProcessorCheckpoint> stored,
    CommitFlusher commits,
    ILeaseHolders holders,
    PartitionGate gate,
    ILogger logger)
{
    private static readonly TimeSpan WatermarkTimeout = TimeSpan.FromSeconds(5);
    private long _epoch;
    private long _stateEpoch;

    /// <summary>The next offset to process under the current lease; -1 until known (the fetch decides where to begin).</summary>
    public long NextOffset { get; set; } = -1;

    /// <summary>The processor's exactly-once state, once its pipeline is built; null for a processor without state.</summary>
    public ProcessorStateAccess? State { get; set; }

    /// <summary>Whether this lease still has to load the stored state before its first record.</summary>
    public bool MustLoad(LocalLease lease) => State is not null && _stateEpoch != lease.Epoch;

    /// <summary>The state as status shows it: the live state once loaded under a lease, else the stored one.</summary>
    public string? StateJson => State is { } state && _stateEpoch != 0 ? state.Save() : stored.State.State;

    /// <summary>The processor's state now, to <see cref="Restore"/> if a unit fails; null for a processor without state.</summary>
    public string? Snapshot() => State?.Save();

    /// <summary>Gives the processor back the state of a <see cref="Snapshot"/>: what a failed unit changed is undone.</summary>
    public void Restore(string snapshot) => State!.Load(snapshot);

    /// <summary>
    /// Starts this activation's position under <paramref name="lease"/> where the lease stands:
    /// where its fetch started, or past what an earlier activation processed under it (the grain
    /// was deactivated while the lease went on, and the feed resends what it had sent), whatever
    /// an earlier lease of this activation did. True when the lease is new to this activation.
    /// </summary>
    public bool BeginLease(LocalLease lease)
    {
        if (_epoch == lease.Epoch)
        {
            return false;
        }

        NextOffset = lease.ProcessedOffset;
        _epoch = lease.Epoch;
        return true;
    }

    /// <summary>
    /// Loads the stored state at the first delivery of a lease, and the offset stored with it
    /// becomes where processing starts. False when the fetch started past that offset: the
    /// partition is restarted from it, and the delivery is not processed.
    /// </summary>
    /// <remarks>
    /// The state counts as loaded for this lease only once every step succeeded: a delivery sent
    /// again after a failed step loads again, rather than processing on top of the stored state
    /// from wherever the fetch started.
    /// </remarks>
    public async Task<bool> LoadAsync(long firstOffset, LocalLease lease)
    {
        // Read again at each lease: another silo may have stored since this activation last did.
        await stored.ReadStateAsync();
        if (!stored.RecordExists && lease.CommittedOffset >= 0 && await MissingCheckpointAsync(lease) is { } missing)
        {
            gate.BlockAt(lease.CommittedOffset, missing);
            LogCheckpointMissing(logger, missing);
            return false;
        }

        State!.Load(stored.State.State);
        var next = stored.State.NextOffset;
        lease.CheckpointOffset = next;

        // Where the fetch started, not the first record: offsets can have gaps (a transaction's
        // commit marker, compaction), and the stored offset may fall on one.
        var fetchStart = lease.CommittedOffset >= 0 ? lease.CommittedOffset : firstOffset;
        if (next >= 0 && fetchStart > next && commits.Control(lease.Group) is { } control)
        {
            var low = (await control.WatermarksAsync(lease.Partition, WatermarkTimeout)).Low.Value;
            var resumeAt = Math.Max(next, low);
            if (low > next)
            {
                // The records after the stored offset up to the log's start are gone (retention).
                LogStateRecordsDeleted(logger, grainKey, next, low);
            }

            if (fetchStart > resumeAt)
            {
                // Kafka's committed offset is past the stored state (moved outside this product): go back.
                LogStateBehind(logger, grainKey, resumeAt, fetchStart);
                await control.SeekAsync(lease, resumeAt);
                holders.Restart(lease, OwnershipReason.Start);
                return false;
            }
        }

        _stateEpoch = lease.Epoch;
        if (next < 0)
        {
            return true;
        }

        NextOffset = next;
        if (next > lease.CommittedOffset)
        {
            // Kafka's committed offset catches up with the stored one, for tooling.
            lease.StoreProcessed(next);
        }

        return true;
    }

    /// <summary>
    /// With no checkpoint row in the store: the error to hold with when Kafka's commit says a
    /// checkpoint was stored (the row was lost: a store without persistence, an eviction, a restore
    /// from an older backup), so that the processor does not start over with empty state
    /// silently; null when Kafka says none was (a new processor, or offsets moved by other tools).
    /// </summary>
    private async Task<string?> MissingCheckpointAsync(LocalLease lease)
    {
        if (commits.Control(lease.Group) is not { } control)
        {
            return null;
        }

        CommitNote? note;
        try
        {
            note = await control.CommittedNoteAsync(lease.Partition, WatermarkTimeout);
        }
        catch (Confluent.Kafka.KafkaException ex)
        {
            return $"Partition {grainKey}: the grain storage '{KafkaProcessingOptions.StorageName}' has no checkpoint of the processor's state, and Kafka did not say whether one was stored ({ex.Error.Reason}); it is asked again shortly.";
        }

        return note is { CheckpointOffset: >= 0 } stored
            ? $"Partition {grainKey}: the grain storage '{KafkaProcessingOptions.StorageName}' has no checkpoint of the processor's state, but Kafka's committed offset {lease.CommittedOffset} says one was stored at offset {stored.CheckpointOffset} (lease epoch {stored.Epoch}). The row was lost (a store without persistence, an eviction, a restore from an older backup); starting with empty state would count every record before offset {lease.CommittedOffset} as never processed. Restore the row, or seek the partition (beginning to rebuild the state from the records Kafka still holds, or an offset to start empty there)."
            : null;
    }

    /// <summary>
    /// Marks everything before <see cref="NextOffset"/> processed: with state, first stores it with
    /// that offset (ETag-guarded). False when the store failed (another owner stored since, or
    /// storage failed): nothing is committed, and the partition restarts from what is stored.
    /// </summary>
    public async Task<bool> StoreAsync(LocalLease lease)
    {
        if (State is { } state)
        {
            if (_stateEpoch != lease.Epoch)
            {
                // Not loaded under this lease, or a store failed: what ran is not in the stored state, so nothing is committed.
                return false;
            }

            var checkpoint = stored.State;
            if (NextOffset > checkpoint.NextOffset)
            {
                if (!lease.CanCommit)
                {
                    return false;
                }

                var (offset, json) = (checkpoint.NextOffset, checkpoint.State);
                (checkpoint.NextOffset, checkpoint.State) = (NextOffset, state.Save());
                try
                {
                    await stored.WriteStateAsync();
                }
                catch (Exception ex)
                {
                    (checkpoint.NextOffset, checkpoint.State) = (offset, json);
                    _stateEpoch = 0;
                    LogCheckpointFailed(logger, ex, grainKey, NextOffset, lease.Epoch);
                    holders.Restart(lease, OwnershipReason.Start);
                    return false;
                }

                lease.CheckpointOffset = NextOffset;
            }
        }

        lease.StoreProcessed(NextOffset);
        return true;
    }

    /// <summary>
    /// An operator's seek with exactly-once state: the stored offset is where the next lease
    /// starts, so it moves first, with the state unchanged (a seek back replays records into the
    /// state). Once it is stored the seek has happened: Kafka's offset follows, and if that commit
    /// fails the next lease moves it (<see cref="LoadAsync"/>).
    /// </summary>
    public async Task SeekAsync(GroupControlClient control, LocalLease lease, long target)
    {
        // Fresh from storage: this activation may not have loaded it under this lease.
        await stored.ReadStateAsync();
        var before = stored.State.NextOffset;
        stored.State.NextOffset = target;
        try
        {
            await stored.WriteStateAsync();
        }
        catch
        {
            stored.State.NextOffset = before;
            throw;
        }

        // Processing starts again from the stored state under the next lease.
        _stateEpoch = 0;
        lease.CheckpointOffset = target;
        try
        {
            await control.SeekAsync(lease, target);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSeekCommitFailed(logger, ex, grainKey, target);
        }
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Partition {GrainKey}: could not store the processor's state with offset {Offset} under lease epoch {Epoch} (another owner stored since, or storage failed); nothing is committed, and the partition starts again from the stored state")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, string grainKey, long offset, long epoch);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Partition {GrainKey}: Kafka's committed offset is past the processor's stored state (offset {Stored}, fetch started at {First}); restarting from the stored offset")]
    private static partial void LogStateBehind(ILogger logger, string grainKey, long stored, long first);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Error, Message = "Partition {GrainKey}: the processor's stored state ends at offset {Stored}, but Kafka keeps records from offset {Low} on; the records between were deleted unprocessed")]
    private static partial void LogStateRecordsDeleted(ILogger logger, string grainKey, long stored, long low);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogCheckpointMissing(ILogger logger, string error);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Warning, Message = "Partition {GrainKey}: the seek to offset {Offset} is stored with the processor's state, but Kafka's offset was not committed; the next lease moves it")]
    private static partial void LogSeekCommitFailed(ILogger logger, Exception exception, string grainKey, long offset);
}
