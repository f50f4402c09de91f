using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>Puts a partition grain's status together from its lease, gate, progress and control state.</summary>
internal static class PartitionStatusReport
{
    /// <summary>The status; <paramref name="lease"/> is the lease this silo holds on the partition while it is current, null when it holds none.</summary>
    public static PartitionStatus Build(string grainKey, string silo, LocalLease? lease, PartitionGate gate, HeldKeys heldKeys, PartitionProgress progress, DateTimeOffset? pausedSince, string? processorStateJson)
    {
        var (group, topic, partition) = PartitionGrainKey.Parse(grainKey);
        var held = gate.Held;
        // Too many records wait behind held keys: the partition stops at FullAt; no record is held
        // there, so HeldOffset stays -1 (the partition's retry, skip and dead-letter do not apply).
        var full = heldKeys.FullAt is { } fullAt
            ? (Offset: fullAt, Error: $"{heldKeys.Waiting} records wait behind {heldKeys.Count} held key(s), the most a partition keeps (MaxWaitingRecords {heldKeys.MaxWaiting}); it takes no records from offset {fullAt} on until a held key is retried, skipped or dead-lettered")
            : default((long Offset, string Error)?);
        var state = lease is null ? PartitionState.NotOwner
            : held is not null || gate.Blocked is not null || full is not null ? PartitionState.Holding
            : pausedSince is not null ? PartitionState.Paused
            : progress.RetryAttempt > 0 ? PartitionState.Retrying
            : progress.InFlightOffset >= 0 ? PartitionState.Processing
            : PartitionState.Idle;
        var rate = progress.RecordsPerSecond();
        return new PartitionStatus
        {
            Group = group,
            Topic = topic,
            Partition = partition,
            Silo = silo,
            State = state,
            LeaseEpoch = lease?.Epoch ?? 0,
            CommittedOffset = lease?.CommittedOffset ?? -1,
            HighWatermark = lease?.HighWatermark ?? -1,
            RecordsProcessed = progress.Processed,
            InFlightOffset = progress.InFlightOffset,
            InFlightSince = progress.InFlightSince,
            LastError = gate.Blocked?.Error ?? full?.Error ?? progress.LastError ?? held?.Failure.Describe(),
            LastErrorAt = gate.Blocked?.Since ?? progress.LastErrorAt ?? held?.Since,
            RetryAttempt = progress.RetryAttempt,
            HeldOffset = gate.Blocked?.Offset ?? held?.Offset ?? -1,
            HeldSince = gate.Blocked?.Since ?? held?.Since,
            HeldKey = held?.Key,
            HeldValue = held?.Value,
            RecordsSkipped = progress.Skipped,
            RecordsDeadLettered = progress.DeadLettered,
            RecordsPerSecond = rate,
            CatchUpEstimate = lease is not null && rate > 0 && lease.HighWatermark > lease.CommittedOffset && lease.CommittedOffset >= 0
                ? TimeSpan.FromSeconds((lease.HighWatermark - lease.CommittedOffset) / rate)
                : null,
            PausedSince = pausedSince,
            ProcessorStateJson = processorStateJson,
            HeldKeys = [.. heldKeys.All.Select(k => new HeldKeyStatus
            {
                Key = k.Key,
                Offset = k.FirstOffset,
                Waiting = k.Waiting.Count,
                Error = k.Failure.Describe(),
                Attempts = k.Failure.Attempts,
                Since = k.Since,
                Value = k.Value,
                Decided = k.Decision is not null,
                RetryAt = k.RetryAt,
            })],
            RecordsWaiting = heldKeys.Waiting,
        };
    }
}
