using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.KeyGrains;
using OrleansKafka.Leases;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>
/// Runs a delivery's records in key order (<see cref="ProcessingOrder.Key"/>, key grains, streams):
/// records of one key one after another, records of different keys at once within the grain's
/// turn (at most <see cref="ProcessorOptions.MaxInFlight"/>), and the next offset moved up to the
/// highest contiguous completed record.
/// </summary>
internal sealed partial class KeyOrderRun(
    string grainKey,
    ProcessorPipeline pipeline,
    int maxInFlight,
    PartitionGate gate,
    RecordRunner runner,
    PartitionCheckpoint checkpoint,
    PartitionProgress progress,
    DeliveryGuarantee delivery,
    bool finishesCallsOnRevoke,
    ILogger logger) : IPartitionRun
{
    // Offsets past the next offset that completed in an earlier delivery of this lease: a
    // delivery sent again after a hold must not run them twice.
    private readonly SortedSet<long> _completedAhead = [];

    public async Task<DeliveryOutcome> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, LocalLease lease)
    {
        var done = new bool[records.Count];
        var chains = new Dictionary<string, Task>(StringComparer.Ordinal);
        var running = new List<Task>();
        var run = new KeyedRun(new SemaphoreSlim(maxInFlight, maxInFlight));
        try
        {
            for (var i = start; i < records.Count && !run.Stopped; i++)
            {
                var offset = RecordOffsets.OffsetAt(records, i);
                if (_completedAhead.Contains(offset))
                {
                    done[i] = true;
                    continue;
                }

                if (!gate.TryPass(offset, out var decided))
                {
                    run.HoldAt(offset);
                    break;
                }

                if (decided is not null)
                {
                    await runner.HoldDecidedAsync();
                }

                await run.Slots.WaitAsync(lease.Token);
                if (gate.IsStopped)
                {
                    // Paused (or a seek is stopping it) while waiting for a slot: no record starts; the ones running finish.
                    run.Slots.Release();
                    run.HoldAt(offset);
                    break;
                }

                var key = pipeline.ChainOf(records[i]);
                var task = RunKeyedAsync(chains.GetValueOrDefault(key, Task.CompletedTask), records, i, done, decided, run, lease);
                chains[key] = task;
                running.Add(task);
            }

            await Task.WhenAll(running);
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            await Task.WhenAll(running).ContinueWith(_ => { }, TaskScheduler.Current);
            return DeliveryOutcome.Stopped;
        }
        finally
        {
            Advance(records, start, done);
            progress.Idle();
            if (delivery == DeliveryGuarantee.AtLeastOnce && checkpoint.NextOffset >= 0)
            {
                lease.StoreProcessed(checkpoint.NextOffset);
            }
        }

        // A run that neither held nor lost its lease completed every record (skipped and dead-lettered ones included).
        return !lease.IsCurrent || run.Superseded ? DeliveryOutcome.Stopped : run.Stopped ? DeliveryOutcome.Held : DeliveryOutcome.Completed;
    }

    public void Reset() => _completedAhead.Clear();

    /// <summary>Moves the next offset past the contiguous prefix of this delivery that is done, and remembers what completed beyond it.</summary>
    private void Advance(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, bool[] done)
    {
        var completed = start;
        while (completed < records.Count && done[completed])
        {
            _completedAhead.Remove(RecordOffsets.OffsetAt(records, completed));
            completed++;
        }

        for (var i = completed; i < records.Count; i++)
        {
            if (done[i])
            {
                _completedAhead.Add(RecordOffsets.OffsetAt(records, i));
            }
        }

        if (completed > start)
        {
            checkpoint.NextOffset = RecordOffsets.OffsetAt(records, completed - 1) + 1;
        }
    }

    /// <summary>
    /// Runs one record after the previous record of its key, with the processor's retries and
    /// failure action; for the record the partition held at, <paramref name="decided"/> carries the
    /// operator's decision and the failure it held for.
    /// </summary>
    private async Task RunKeyedAsync(Task previous, IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, bool[] done, (HoldDecision Decision, RecordFailure Failure)? decided, KeyedRun run, LocalLease lease)
    {
        try
        {
            await previous;
            if (run.Stopped || !lease.IsCurrent)
            {
                // The partition holds at an earlier record, or the lease ended: this one waits for the next delivery.
                return;
            }

            var record = records[index];
            // Grain calls (key grains, streams) already sent finish when the lease is revoked: the
            // partition is released only after them, so the next owner never sends a key a record
            // while an older one still runs there. Only a lost lease abandons them, as a frozen
            // silo's would be; no record starts once the lease is revoked (checked above).
            var token = finishesCallsOnRevoke ? lease.LostToken : lease.Token;
            var failure = decided is (HoldDecision.Skip or HoldDecision.DeadLetter, var held)
                ? held
                : await runner.RunAsync(records, index, 1, lease, token);
            if (failure is not null)
            {
                var action = RecordRunner.ActionOf(decided?.Decision) ?? runner.OnFailure;
                if (!await runner.GiveUpAsync(record, failure, action, lease))
                {
                    if (run.HoldAt(record.Offset.Value))
                    {
                        await runner.HoldAtAsync(record, failure);
                    }

                    return;
                }
            }

            progress.Ended();
            progress.Completed(1);
            done[index] = true;
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            // The lease ended (or was lost) mid-record: it is not done, and is processed again by the next owner.
        }
        catch (StaleLeaseEpochException ex)
        {
            // A key grain has seen a newer owner of this partition: nothing more starts under this lease.
            // Expected when this lease has ended; while it is current, epochs went down (see the message).
            var offset = RecordOffsets.OffsetAt(records, index);
            LogSuperseded(logger, ex, grainKey, offset, lease.Epoch, lease.IsCurrent);
            run.Supersede(offset);
        }
        finally
        {
            run.Slots.Release();
        }
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Partition {GrainKey}: a grain refused offset {Offset} as sent under lease epoch {Epoch} (lease still current here: {Current}); this silo stops delivering under that lease")]
    private static partial void LogSuperseded(ILogger logger, Exception exception, string grainKey, long offset, long epoch, bool current);

    /// <summary>One delivery's key-ordered run: the in-flight bound, and where it stopped to hold.</summary>
    private sealed class KeyedRun(SemaphoreSlim slots)
    {
        public SemaphoreSlim Slots { get; } = slots;

        public long? HeldOffset { get; private set; }

        public bool Stopped => HeldOffset is not null;

        /// <summary>True once a key grain refused a record as sent under a stale lease epoch.</summary>
        public bool Superseded { get; private set; }

        /// <summary>Stops the run at <paramref name="record"/> because a newer owner of the partition exists.</summary>
        public void Supersede(long record)
        {
            Superseded = true;
            HoldAt(record);
        }

        /// <summary>Stops the run at <paramref name="offset"/>; true when it is the first (lowest) hold.</summary>
        public bool HoldAt(long offset)
        {
            if (HeldOffset is { } held && held <= offset)
            {
                return false;
            }

            HeldOffset = offset;
            return true;
        }
    }
}
