using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// What a partition does when its fetch path stopped at an offset Kafka does not hold (the topic
/// was created again, retention or an unclean leader election removed records, an offset was
/// committed past the end): by default it holds there, with both offsets in its status, and skips
/// and commits nothing until an operator seeks; with <see cref="OffsetResetAction.Earliest"/> or
/// <see cref="OffsetResetAction.Latest"/> it commits the oldest or the next offset and restarts there.
/// </summary>
internal sealed partial class OffsetResetCommand(string grainKey, PartitionGate gate, SeekCommand seek, PartitionCheckpoint checkpoint, ILeaseHolders holders, ILogger logger)
{
    private static readonly TimeSpan WatermarkTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Applies <paramref name="action"/> to <paramref name="reset"/>. <see cref="DeliveryOutcome.Held"/>
    /// while the partition holds (also when Kafka did not tell its offsets, so the policy could not
    /// be followed yet: the fetch path reports again); <see cref="DeliveryOutcome.Stopped"/> once a
    /// new offset is committed and the partition restarts there. A stateful processor's stored
    /// offset comes first: when it is behind where the fetch started, the partition restarts there.
    /// </summary>
    public async Task<DeliveryOutcome> ApplyAsync(OffsetOutOfRange reset, OffsetResetAction action, GroupControlClient? control, LocalLease lease, bool stateful)
    {
        if (checkpoint.MustLoad(lease) && !await checkpoint.LoadAsync(reset.Offset, lease))
        {
            return gate.Blocked is null ? DeliveryOutcome.Stopped : DeliveryOutcome.Held;
        }

        WatermarkOffsets? marks = null;
        if (control is not null)
        {
            try
            {
                marks = await control.WatermarksAsync(lease.Partition, WatermarkTimeout);
            }
            catch (KafkaException ex)
            {
                LogWatermarksUnknown(logger, ex, grainKey);
            }
        }

        var holds = marks is null
            ? "Kafka did not tell which offsets it holds"
            : marks.High.Value > marks.Low.Value ? $"Kafka holds offsets {marks.Low.Value} to {marks.High.Value - 1}" : $"the partition is empty; its next record gets offset {marks.High.Value}";
        if (action == OffsetResetAction.Hold || control is null || marks is null)
        {
            var error = $"Offset {reset.Offset} of partition {grainKey} is not in Kafka ({holds}; librdkafka: {reset.Reason}). The partition holds there: nothing was skipped, nothing committed. "
                + (action == OffsetResetAction.Hold
                    ? "Seek it to go on (orleans-kafka seek <group> <topic> <partition> beginning|end|<offset>), or set the processor's OnOffsetReset to Earliest or Latest."
                    : $"OnOffsetReset is {action}: it is followed once Kafka tells its offsets.");
            if (gate.Blocked?.Offset != reset.Offset)
            {
                LogHolding(logger, error);
            }

            gate.BlockAt(reset.Offset, error);
            return DeliveryOutcome.Held;
        }

        var target = action == OffsetResetAction.Earliest ? marks.Low.Value : marks.High.Value;
        LogFollowing(logger, grainKey, reset.Offset, holds, action, target);
        await seek.SeekAsync(control, lease, target, stateful, Task.CompletedTask, $"OnOffsetReset={action}");
        holders.Restart(lease, OwnershipReason.OffsetReset);
        return DeliveryOutcome.Stopped;
    }

    [LoggerMessage(EventId = 1811, Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogHolding(ILogger logger, string error);

    [LoggerMessage(EventId = 1812, Level = LogLevel.Warning, Message = "Partition {GrainKey}: offset {Offset} is not in Kafka ({Holds}); OnOffsetReset is {Action}, so it goes on at offset {Target}")]
    private static partial void LogFollowing(ILogger logger, string grainKey, long offset, string holds, OffsetResetAction action, long target);

    [LoggerMessage(EventId = 1813, Level = LogLevel.Warning, Message = "Partition {GrainKey}: Kafka did not tell the partition's offsets after an offset reset; it holds and asks again")]
    private static partial void LogWatermarksUnknown(ILogger logger, Exception exception, string grainKey);
}
