using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// An operator's seek of a partition: the target checked against Kafka's watermarks, the
/// partition stopped at its gate while the delivery in flight finishes, then the new offset
/// committed (with exactly-once state, stored with the state first). The grain then restarts the
/// partition, so the next lease starts at the new offset.
/// </summary>
internal sealed partial class SeekCommand(string grainKey, string silo, PartitionGate gate, HeldKeys heldKeys, PartitionCheckpoint checkpoint, PartitionProgress progress, PartitionControlStore controlStore, HoldSignals holds, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan WatermarkTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Seeks to <paramref name="offset"/> (or <see cref="PartitionSeek.Beginning"/>, <see cref="PartitionSeek.End"/>)
    /// and returns the offset committed; <paramref name="delivering"/>, the delivery in flight, finishes
    /// first. <paramref name="cause"/> says who seeks, for the log.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing was changed: Kafka did not answer, the offset is outside the partition, or the record in flight did not finish.</exception>
    public async Task<long> SeekAsync(GroupControlClient control, LocalLease lease, long offset, bool stateful, Task delivering, string cause = "an operator's seek")
    {
        WatermarkOffsets marks;
        try
        {
            marks = await control.WatermarksAsync(lease.Partition, WatermarkTimeout);
        }
        catch (KafkaException ex)
        {
            // Kafka's exception types do not cross a grain call: the operator gets the reason as text.
            throw new InvalidOperationException($"Partition {grainKey}: Kafka did not tell its offsets within {WatermarkTimeout.TotalSeconds:0} s ({ex.Error.Code}: {ex.Error.Reason}); nothing was changed. Try again.");
        }

        var target = offset switch
        {
            PartitionSeek.Beginning => marks.Low.Value,
            PartitionSeek.End => marks.High.Value,
            _ => offset,
        };
        if (target < marks.Low.Value || target > marks.High.Value)
        {
            throw new InvalidOperationException($"Offset {offset} is outside partition {grainKey}: Kafka holds offsets {marks.Low.Value} to {marks.High.Value - 1} and the next record gets {marks.High.Value}; expected an offset from {marks.Low.Value} to {marks.High.Value}, beginning or end. Nothing was changed.");
        }

        gate.Seeking = true;
        try
        {
            try
            {
                // Well within a grain call's 30 s: the caller learns the outcome.
                await delivering.WaitAsync(DrainTimeout, time);
            }
            catch (TimeoutException)
            {
                throw new InvalidOperationException($"Partition {grainKey}: the record in flight at offset {progress.InFlightOffset} did not finish within {DrainTimeout.TotalSeconds:0} s; nothing was changed.");
            }

            if (stateful)
            {
                await checkpoint.SeekAsync(control, lease, target);
            }
            else
            {
                await control.SeekAsync(lease, target);
            }
        }
        catch
        {
            // Nothing was committed: the deliveries held back by the seek go on.
            gate.Seeking = false;
            holds.Decided(grainKey);
            throw;
        }

        // The partition restarts at the new offset: a record it held at runs again, or is sought past.
        gate.Forget();
        await controlStore.ClearHoldAsync();
        if (heldKeys.Count > 0 || heldKeys.ResolvedOffsets.Count > 0)
        {
            // Nor a key: what waited is fetched again from the new offset, if it is after it.
            heldKeys.Forget();
            await controlStore.SaveKeyHoldsAsync(heldKeys);
        }

        LogSeek(logger, grainKey, cause, target, silo);
        return target;
    }

    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "Partition {GrainKey}: {Cause} committed offset {Offset} (on silo {Silo}); it restarts there")]
    private static partial void LogSeek(ILogger logger, string grainKey, string cause, long offset, string silo);
}
