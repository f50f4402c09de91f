using Confluent.Kafka;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

// Key-ordered processing (ProcessingOrder.Key): records of one key in order, different keys
// concurrently within the grain's turn, offsets committed up to the highest contiguous completed one.
internal sealed partial class PartitionGrain
{
    // Offsets past the committed position that completed in an earlier delivery of this lease:
    // a delivery sent again after a hold must not run them twice.
    private readonly SortedSet<long> _completedAhead = [];

    private async Task<DeliveryOutcome> DeliverByKeyAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, LocalLease lease, bool atLeastOnce)
    {
        var options = _binding!.Options;
        var done = new bool[records.Count];
        var chains = new Dictionary<string, Task>(StringComparer.Ordinal);
        var running = new List<Task>();
        var run = new KeyedRun(new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight));
        var completed = start;
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


                HoldDecision? decision = null;
                RecordFailure? heldFailure = null;
                if (_held is { } held && held.Offset == offset)
                {
                    if (_decision is null)
                    {
                        run.HoldAt(offset);
                        break;
                    }

                    (decision, heldFailure) = (_decision, held.Failure);
                    (_held, _decision) = (null, null);
                    LogHoldResolved(_logger, this.GetPrimaryKeyString(), offset, decision.Value);
                }

                await run.Slots.WaitAsync(lease.Token);
                if (_control.State.PausedSince is not null || _seeking)
                {
                    // Paused (or a seek is stopping it) while waiting for a slot: no record starts; the ones running finish.
                    run.Slots.Release();
                    run.HoldAt(offset);
                    break;
                }

                var key = _pipeline!.ChainOf(records[i]);
                var previous = chains.GetValueOrDefault(key, Task.CompletedTask);
                var task = RunKeyedAsync(previous, records, i, done, (decision, heldFailure), run, lease);
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
            // The contiguous prefix of this delivery is committed; what completed beyond it is remembered.
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
                _nextOffset = RecordOffsets.OffsetAt(records, completed - 1) + 1;
            }

            _inFlightOffset = -1;
            _inFlightSince = null;
            if (atLeastOnce && _nextOffset >= 0)
            {
                lease.StoreProcessed(_nextOffset);
            }
        }

        // A run that neither held nor lost its lease completed every record (skipped and dead-lettered ones included).
        return !lease.IsCurrent || run.Superseded ? DeliveryOutcome.Stopped : run.Stopped ? DeliveryOutcome.Held : DeliveryOutcome.Completed;
    }

    /// <summary>
    /// Runs one record after the previous record of its key, with the processor's retries and
    /// failure action; for the record the partition held at, <c>operatorDecision</c> carries the
    /// operator's decision and the failure it held for.
    /// </summary>
    private async Task RunKeyedAsync(Task previous, IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, bool[] done, (HoldDecision? Decision, RecordFailure? Failure) operatorDecision, KeyedRun run, LocalLease lease)
    {
        var decision = operatorDecision.Decision;
        try
        {
            await previous;
            if (run.Stopped || !lease.IsCurrent)
            {
                // The partition holds at an earlier record, or the lease ended: this one waits for the next delivery.
                return;
            }

            var record = records[index];
            var failure = decision is null or HoldDecision.Retry
                ? await RunAsync(records, index, 1, lease)
                : operatorDecision.Failure;
            if (failure is not null)
            {
                var action = ActionOf(decision) ?? _binding!.Options.OnFailure;
                if (!await GiveUpAsync(record, failure, action, lease))
                {
                    if (run.HoldAt(record.Offset.Value))
                    {
                        HoldAt(record, failure);
                    }

                    return;
                }
            }

            _retryAttempt = 0;
            _processed++;
            done[index] = true;
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            // The lease ended mid-record: it is not done, and is processed again by the next owner.
        }
        catch (KeyGrains.StaleLeaseEpochException ex)
        {
            // A key grain has seen a newer owner of this partition: nothing more starts under this lease.
            // Expected when this lease has ended; while it is current, epochs went down (see the message).
            LogSuperseded(_logger, ex, this.GetPrimaryKeyString(), RecordOffsets.OffsetAt(records, index), lease.Epoch, lease.IsCurrent);
            run.Supersede(record: RecordOffsets.OffsetAt(records, index));
        }
        finally
        {
            run.Slots.Release();
        }
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
