using Confluent.Kafka;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>
/// Runs a delivery's records one unit after another in offset order (a unit is one record, or a
/// batch for a batch processor), so the next offset is always the one after the last unit done.
/// </summary>
internal sealed class OffsetOrderRun(
    ProcessorPipeline pipeline,
    DeliveryGuarantee delivery,
    PartitionGate gate,
    RecordRunner runner,
    PartitionCheckpoint checkpoint,
    PartitionProgress progress,
    Func<LocalLease, Task> commitNow) : IPartitionRun
{
    public async Task<DeliveryOutcome> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, LocalLease lease)
    {
        var atLeastOnce = delivery == DeliveryGuarantee.AtLeastOnce;
        var index = start;
        try
        {
            // Units before this index run one record at a time: a batch that failed, narrowed down to its failing record.
            var narrowUntil = -1;
            while (index < records.Count)
            {
                // Checked against the clock before each record, not only through the token: a silo
                // that resumes from a freeze past its deadline must not start another record before
                // the token's timer has had its turn.
                if (!lease.IsCurrent)
                {
                    return DeliveryOutcome.Stopped;
                }

                if (gate.IsStopped || !gate.TryPass(RecordOffsets.OffsetAt(records, index), out var decided))
                {
                    // Paused, seeking or holding: what ran is committed below, the rest waits.
                    return DeliveryOutcome.Held;
                }

                int count;
                RecordFailure? failure;
                FailureAction? action = null;
                if (decided is (var decision, var heldFailure))
                {
                    await runner.HoldDecidedAsync();
                    count = 1;
                    failure = decision == HoldDecision.Retry ? await runner.RunAsync(records, index, 1, lease) : heldFailure;
                    action = RecordRunner.ActionOf(decision);
                }
                else
                {
                    count = index < narrowUntil ? 1 : pipeline.UnitLength(records.Count - index);
                    failure = await RunUnitAsync(records, index, count, lease);
                }

                if (failure is not null && count > 1)
                {
                    // Which record of the batch failed is unknown: run them one by one. Those before
                    // it are processed again (at-least-once; exactly once into the state, which the
                    // failed batch left as it found it), and the failure action applies to it alone.
                    narrowUntil = index + count;
                    continue;
                }

                if (failure is not null && !await runner.GiveUpAsync(records[index], failure, action ?? runner.OnFailure, lease))
                {
                    // Everything before the held record is committed; nothing from it on.
                    await runner.HoldAtAsync(records[index], failure);
                    return DeliveryOutcome.Held;
                }

                index += count;
                progress.Completed(count);
                checkpoint.NextOffset = RecordOffsets.OffsetAt(records, index - 1) + 1;
                if (action is not null && atLeastOnce)
                {
                    // An operator's skip or dead-letter is committed before anything else happens,
                    // so the record is not held again after a move to another silo.
                    if (!await checkpoint.StoreAsync(lease))
                    {
                        return DeliveryOutcome.Stopped;
                    }

                    await commitNow(lease);
                }
            }
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            return DeliveryOutcome.Stopped;
        }
        finally
        {
            progress.Idle();
            progress.Ended();

            // Whatever completed is committed, also when a revoke or shutdown cut the delivery short.
            if (atLeastOnce && checkpoint.NextOffset >= 0)
            {
                await checkpoint.StoreAsync(lease);
            }
        }

        return DeliveryOutcome.Completed;
    }

    public void Reset()
    {
    }

    /// <summary>
    /// Runs a unit; a batch of a processor with exactly-once state that fails leaves the state as
    /// it found it, since the batch may have changed it for records before the failing one.
    /// </summary>
    private async Task<RecordFailure?> RunUnitAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, LocalLease lease)
    {
        var before = count > 1 ? checkpoint.Snapshot() : null;
        RecordFailure? failure;
        try
        {
            failure = await runner.RunAsync(records, index, count, lease);
        }
        catch
        {
            // Cut short (the lease ended): nothing of the batch counts.
            if (before is not null)
            {
                checkpoint.Restore(before);
            }

            throw;
        }

        if (failure is not null && before is not null)
        {
            checkpoint.Restore(before);
        }

        return failure;
    }
}
