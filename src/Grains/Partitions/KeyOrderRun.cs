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
            foreach (var planned in Plan(records, start, done, run))
            {
                var unit = planned;
                await run.Slots.WaitAsync(lease.Token);
                var first = RecordOffsets.OffsetAt(records, unit.Indices[0]);
                if (gate.IsStopped || run.Stopped)
                {
                    // Paused (or a seek is stopping it) while waiting for a slot, or held: no record
                    // starts; the ones running finish.
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

                var task = RunUnitAsync(chains.GetValueOrDefault(unit.Chain, Task.CompletedTask), records, unit, done, run, lease);
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
    /// The delivery's records from <paramref name="start"/> that may run, in units: a record with
    /// the records of its chain that follow it, up to <see cref="ProcessorPipeline.ChainUnitLimit"/>
    /// (one unless the processor sends them on in one call), ordered by their first record. Stops
    /// at a record the partition holds at with no decision yet; the held record an operator
    /// decided on is a unit of its own (<see cref="ChainUnit.AtHold"/>), whose decision is taken up when it starts.
    /// </summary>
    private List<ChainUnit> Plan(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, bool[] done, KeyedRun run)
    {
        var limit = pipeline.ChainUnitLimit;
        var units = new List<ChainUnit>();
        var open = new Dictionary<string, ChainUnit>(StringComparer.Ordinal);
        for (var i = start; i < records.Count; i++)
        {
            var offset = RecordOffsets.OffsetAt(records, i);
            if (_completedAhead.Contains(offset))
            {
                done[i] = true;
                continue;
            }

            var atHold = gate.Held?.Offset == offset;
            if (atHold && !gate.HasDecision)
            {
                run.HoldAt(offset);
                break;
            }

            var chain = pipeline.ChainOf(records[i]);
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
    private async Task RunUnitAsync(Task previous, IReadOnlyList<ConsumeResult<byte[], byte[]>> records, ChainUnit unit, bool[] done, KeyedRun run, LocalLease lease)
    {
        try
        {
            await previous;
            if (unit.Indices.Count == 1)
            {
                await RunOneAsync(records, unit.Indices[0], done, unit.Decided, run, lease, firstFailure: null);
                return;
            }

            if (run.Stopped || !lease.IsCurrent)
            {
                return;
            }

            var chained = new ChainRecords(records, unit.Indices);
            var failure = await runner.RunAsync(chained, 0, chained.Count, lease, CallToken(lease));
            var completed = failure is null ? chained.Count : (failure.Error as UnitIncompleteException)?.Completed ?? 0;
            for (var j = 0; j < completed; j++)
            {
                done[unit.Indices[j]] = true;
            }

            if (completed > 0)
            {
                progress.Ended();
                progress.Completed(completed);
            }

            // The record the call stopped at: its error counts as its first attempt, unless the
            // grain refused it (a newer owner: stop); without one, it was not run.
            var first = (failure?.Error as UnitIncompleteException)?.InnerException;
            if (first is StaleLeaseEpochException stale)
            {
                Supersede(stale, records, unit.Indices[completed], run, lease);
                return;
            }

            for (var j = completed; j < chained.Count; j++)
            {
                if (!await RunOneAsync(records, unit.Indices[j], done, decided: null, run, lease, j == completed ? first : null))
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
    /// failure it held for. False when the record did not complete (the partition holds, the lease ended).
    /// </summary>
    private async Task<bool> RunOneAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, bool[] done, (HoldDecision Decision, RecordFailure Failure)? decided, KeyedRun run, LocalLease lease, Exception? firstFailure)
    {
        if (run.Stopped || !lease.IsCurrent)
        {
            // The partition holds at an earlier record, or the lease ended: this one waits for the next delivery.
            return false;
        }

        var record = records[index];
        try
        {
            var failure = decided is (HoldDecision.Skip or HoldDecision.DeadLetter, var held)
                ? held
                : await runner.RunAsync(records, index, 1, lease, CallToken(lease), firstFailure);
            if (failure is not null)
            {
                var action = RecordRunner.ActionOf(decided?.Decision) ?? runner.OnFailure;
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
            done[index] = true;
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

    /// <summary>Records of one chain that go to the processor together: indices into the delivery, in offset order.</summary>
    /// <remarks><see cref="AtHold"/>: the record the partition held at, alone; <see cref="Decided"/> is the operator's decision about it once it starts.</remarks>
    private sealed record ChainUnit(string Chain, List<int> Indices, bool AtHold)
    {
        public (HoldDecision Decision, RecordFailure Failure)? Decided { get; init; }
    }

    /// <summary>A unit's records as a list of their own, for the runner.</summary>
    private sealed class ChainRecords(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, List<int> indices) : IReadOnlyList<ConsumeResult<byte[], byte[]>>, IOffsetIndexed
    {
        public int Count => indices.Count;

        public ConsumeResult<byte[], byte[]> this[int index] => records[indices[index]];

        public long OffsetAt(int index) => RecordOffsets.OffsetAt(records, indices[index]);

        public IEnumerator<ConsumeResult<byte[], byte[]>> GetEnumerator() => indices.Select(i => records[i]).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

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
