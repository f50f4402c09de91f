using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.KeyGrains;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>
/// Runs a delivery's records in key order (<see cref="ProcessingOrder.Key"/>, key grains, streams):
/// records of one key one after another, records of different keys at once within the grain's
/// turn (at most <see cref="ProcessorOptions.MaxInFlight"/>), and the next offset moved up to the
/// highest contiguous completed record. With <see cref="FailureAction.HoldKey"/> a key whose record
/// fails for good is held (<see cref="HeldKeys"/>): its later records wait behind it, the other
/// keys go on, and the next offset stays at the lowest held record until an operator decides.
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
    HeldKeys heldKeys,
    Action nudge,
    Func<LocalLease, Task<(long Offset, CommitNote? Note)?>> readCommitted,
    ILogger logger) : IPartitionRun
{

    private readonly KeyOrderFrontier _frontier = new(grainKey, checkpoint, heldKeys, logger);

    // Nudges the feed when a held key's automatic retry is due, for a delivery to carry it out.
    private ITimer? _retryTimer;

    public async Task<DeliveryOutcome> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, LocalLease lease)
    {
        var done = new bool[records.Count];
        var parked = new bool[records.Count];
        var chains = new Dictionary<string, Task>(StringComparer.Ordinal);
        var running = new List<Task>();
        var run = new KeyedRun(new SemaphoreSlim(maxInFlight, maxInFlight), done, parked);
        if (delivery == DeliveryGuarantee.AtLeastOnce)
        {
            await _frontier.SeedAsync(lease, readCommitted);
        }

        try
        {
            var units = Plan(records, start, run);
            heldKeys.TakeDueRetries(runner.Now);

            // Keys an operator decided on, each as its chain, alongside the other keys' records.
            foreach (var key in heldKeys.All.Where(k => k.Decision is not null && k.Waiting.Count > 0).ToList())
            {
                var release = new HeldKeyRelease(grainKey, runner, heldKeys, _frontier, progress, logger).RunAsync(key, lease, CallToken(lease));
                chains[key.Chain] = release;
                running.Add(release);
            }

            foreach (var planned in units)
            {
                var unit = planned;
                await run.Slots.WaitAsync(lease.Token);
                var first = RecordOffsets.OffsetAt(records, unit.Indices[0]);
                if (gate.IsStopped || run.Stopped)
                {
                    // Paused (or a seek is stopping it) while waiting for a slot, or held: no record starts; the ones running finish.
                    run.Slots.Release();
                    run.HoldAt(first);
                    break;
                }

                if (unit.AtHold)
                {
                    // The record the partition held at, which an operator decided on: the
                    // decision is taken up only now that the record starts, so that a pause
                    // before it leaves decision and stored hold in place.
                    if (!gate.TryPass(first, out var decided))
                    {
                        run.Slots.Release();
                        run.HoldAt(first);
                        break;
                    }

                    if (decided is not null)
                    {
                        await runner.HoldDecidedAsync();
                    }

                    unit = unit with { Decided = decided };
                }

                var task = RunUnitAsync(chains.GetValueOrDefault(unit.Chain, Task.CompletedTask), records, unit, run, lease);
                chains[unit.Chain] = task;
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
            _frontier.Advance(records, start, done, parked);
            progress.Idle();
            StoreProcessed(lease);
        }

        // A run that neither held nor lost its lease completed every record (skipped and dead-lettered ones included).
        return !lease.IsCurrent || run.Superseded ? DeliveryOutcome.Stopped : run.Stopped ? DeliveryOutcome.Held : DeliveryOutcome.Completed;
    }

    public void Reset()
    {
        _frontier.Reset();
        heldKeys.Reset();
        runner.ReportHeldKeys(heldKeys);
    }

    private void StoreProcessed(LocalLease lease)
    {
        runner.ReportHeldKeys(heldKeys);
        if (heldKeys.NextRetryAt is { } due)
        {
            _retryTimer ??= runner.Time.CreateTimer(static state => ((Action)state!)(), nudge, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            var delay = due - runner.Now;
            _retryTimer.Change(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
        }

        lease.RecordsWaitInMemory |= heldKeys.Waiting > 0;
        if (delivery == DeliveryGuarantee.AtLeastOnce && checkpoint.NextOffset >= 0)
        {
            lease.StoreProcessed(checkpoint.NextOffset);
            lease.StoreCompletedAhead(checkpoint.NextOffset, _frontier.CompletedAheadText());
        }
    }

    /// <summary>
    /// The delivery's records from <paramref name="start"/> that may run, in units: a record with
    /// the records of its chain that follow it, up to <see cref="ProcessorPipeline.ChainUnitLimit"/>
    /// (one unless the processor sends them on in one call), ordered by their first record. Stops
    /// at a record the partition holds at with no decision yet; the held record an operator
    /// decided on is a unit of its own (<see cref="ChainUnit.AtHold"/>), whose decision is taken up when it starts.
    /// </summary>
    private List<ChainUnit> Plan(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, KeyedRun run)
    {
        var limit = pipeline.ChainUnitLimit;
        var units = new List<ChainUnit>();
        var open = new Dictionary<string, ChainUnit>(StringComparer.Ordinal);
        heldKeys.FullAt = null;
        for (var i = start; i < records.Count; i++)
        {
            var offset = RecordOffsets.OffsetAt(records, i);
            if (_frontier.IsCompleted(offset))
            {
                run.Done[i] = true;
                continue;
            }

            var chain = pipeline.ChainOf(records[i]);
            if (heldKeys.Count > 0 && heldKeys.TryGet(chain, out var key) && offset >= key.FirstOffset)
            {
                // A held key's record waits behind it, unless too many wait already: then the
                // partition stops here until an operator releases a key.
                if (!run.Park(heldKeys, key, records[i], i))
                {
                    break;
                }

                continue;
            }

            var atHold = gate.Held?.Offset == offset;
            if (atHold && !gate.HasDecision)
            {
                run.HoldAt(offset);
                break;
            }

            if (!atHold && open.TryGetValue(chain, out var last) && !last.AtHold && last.Indices.Count < limit)
            {
                last.Indices.Add(i);
                continue;
            }

            var unit = new ChainUnit(chain, [i], AtHold: atHold);
            units.Add(unit);
            open[chain] = unit;
        }

        return units;
    }

    /// <summary>
    /// Runs a unit after the previous unit of its chain: a single record as it is, several in one
    /// call; when that call ends early, its completed records are done and the rest run one by
    /// one, the first with the error of its try in the call as its first attempt.
    /// </summary>
    private async Task RunUnitAsync(Task previous, IReadOnlyList<ConsumeResult<byte[], byte[]>> records, ChainUnit unit, KeyedRun run, LocalLease lease)
    {
        try
        {
            await previous;
            if (unit.Indices.Count == 1)
            {
                await RunOneAsync(records, unit.Chain, unit.Indices[0], unit.Decided, run, lease, firstFailure: null);
                return;
            }

            if (run.Stopped || !lease.IsCurrent)
            {
                return;
            }

            var completed = 0;
            Exception? first = null;
            if (heldKeys.Count == 0 || !heldKeys.TryGet(unit.Chain, out _))
            {
                var chained = new ChainRecords(records, unit.Indices);
                var failure = await runner.RunAsync(chained, 0, chained.Count, lease, CallToken(lease));
                completed = failure is null ? chained.Count : (failure.Error as UnitIncompleteException)?.Completed ?? 0;
                for (var j = 0; j < completed; j++)
                {
                    run.Done[unit.Indices[j]] = true;
                }

                if (completed > 0)
                {
                    progress.Ended();
                    progress.Completed(completed);
                }

                // The record the call stopped at: its error counts as its first attempt, unless the
                // grain refused it (a newer owner: stop); without one, it was not run.
                first = (failure?.Error as UnitIncompleteException)?.InnerException;
                if (first is StaleLeaseEpochException stale)
                {
                    Supersede(stale, records, unit.Indices[completed], run, lease);
                    return;
                }
            }

            // One by one: what the call left, or every record of a key an earlier unit of this
            // delivery held (each waits behind it, or stops the run when too many wait).
            for (var j = completed; j < unit.Indices.Count; j++)
            {
                if (!await RunOneAsync(records, unit.Chain, unit.Indices[j], decided: null, run, lease, j == completed ? first : null) && !run.Parked[unit.Indices[j]])
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            // The lease ended (or was lost) mid-unit: what did not complete is processed again by the next owner.
        }
        finally
        {
            run.Slots.Release();
        }
    }

    /// <summary>
    /// Runs one record with the processor's retries and failure action; for the record the
    /// partition held at, <paramref name="decided"/> carries the operator's decision and the
    /// failure it held for. False when the record did not complete (its key is held, the
    /// partition holds, the lease ended); <see cref="KeyedRun.Parked"/> tells the first apart.
    /// </summary>
    private async Task<bool> RunOneAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, string chain, int index, (HoldDecision Decision, RecordFailure Failure)? decided, KeyedRun run, LocalLease lease, Exception? firstFailure)
    {
        if (run.Stopped || !lease.IsCurrent)
        {
            // The partition holds at an earlier record, or the lease ended: this one waits for the next delivery.
            return false;
        }

        var record = records[index];
        if (heldKeys.Count > 0 && heldKeys.TryGet(chain, out var heldKey) && record.Offset.Value >= heldKey.FirstOffset)
        {
            // Its key was held by an earlier record of this delivery: it waits behind it.
            run.Park(heldKeys, heldKey, record, index);
            return false;
        }

        try
        {
            var failure = decided is (HoldDecision.Skip or HoldDecision.DeadLetter, var held)
                ? held
                : await runner.RunAsync(records, index, 1, lease, CallToken(lease), firstFailure);
            if (failure is not null)
            {
                var action = RecordRunner.ActionOf(decided?.Decision) ?? runner.OnFailure;
                if (action == FailureAction.HoldKey && heldKeys.HasRoomForAKey)
                {
                    run.Parked[index] = true;
                    await runner.HoldKeyAsync(heldKeys, heldKeys.Hold(chain, record, failure, runner.Now, runner.RetryAtFor(failure)), record);
                    return false;
                }

                if (!await runner.GiveUpAsync(record, failure, action, lease))
                {
                    if (run.HoldAt(record.Offset.Value))
                    {
                        await runner.HoldAtAsync(record, failure);
                    }

                    return false;
                }
            }

            progress.Ended();
            progress.Completed(1);
            run.Done[index] = true;
            return true;
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            // The lease ended (or was lost) mid-record: it is not done, and is processed again by the next owner.
            return false;
        }
        catch (StaleLeaseEpochException ex)
        {
            Supersede(ex, records, index, run, lease);
            return false;
        }
    }

    /// <summary>
    /// Grain calls (key grains, streams) already sent finish when the lease is revoked: the
    /// partition is released only after them, so the next owner never sends a key a record
    /// while an older one still runs there. Only a lost lease abandons them, as a frozen silo's
    /// would be; no record starts once the lease is revoked (checked before each).
    /// </summary>
    private CancellationToken CallToken(LocalLease lease) => finishesCallsOnRevoke ? lease.LostToken : lease.Token;

    /// <summary>
    /// A grain has seen a newer owner of this partition: nothing more starts under this lease.
    /// Expected when this lease has ended; while it is current, epochs went down (see the message).
    /// </summary>
    private void Supersede(StaleLeaseEpochException refusal, IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, KeyedRun run, LocalLease lease)
    {
        var offset = RecordOffsets.OffsetAt(records, index);
        LogSuperseded(logger, refusal, grainKey, offset, lease.Epoch, lease.IsCurrent);
        run.Supersede(offset);
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Partition {GrainKey}: a grain refused offset {Offset} as sent under lease epoch {Epoch} (lease still current here: {Current}); this silo stops delivering under that lease")]
    private static partial void LogSuperseded(ILogger logger, Exception exception, string grainKey, long offset, long epoch, bool current);
}
