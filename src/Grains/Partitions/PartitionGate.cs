using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>
/// Whether a partition's records may start: the one place that knows about an operator's pause,
/// a seek stopping the partition, and a record the partition holds at until an operator decides.
/// Both runs (offset order and key order) ask it before each record. A hold outlives the
/// activation: it is stored with the control state and restored by the next one.
/// </summary>
/// <remarks>Used only inside the partition grain's turns, so it needs no lock.</remarks>
internal sealed partial class PartitionGate(string grainKey, Func<bool> isPaused, TimeProvider time, ILogger logger)
{
    private HoldDecision? _decision;

    /// <summary>The record the partition holds at, and why; null when it holds at none.</summary>
    public HeldRecord? Held { get; private set; }

    /// <summary>Whether an operator has decided about the held record (applied when it is passed, <see cref="TryPass"/>).</summary>
    public bool HasDecision => _decision is not null;

    /// <summary>
    /// The offset the partition holds at for a reason no decision about a record can settle (an
    /// offset Kafka does not hold, a checkpoint missing from the store; a seek does), and the error
    /// to show; null unless it holds so.
    /// </summary>
    public (long Offset, string Error, DateTimeOffset Since)? Blocked { get; private set; }

    /// <summary>True while an operator's seek is stopping the partition.</summary>
    public bool Seeking { get; set; }

    /// <summary>True when no record may start: paused by an operator, or a seek is stopping the partition.</summary>
    public bool IsStopped => isPaused() || Seeking;

    /// <summary>
    /// Whether the record at <paramref name="offset"/> may run. False when the partition holds at it
    /// and no operator has decided yet. True otherwise; then <paramref name="decided"/> carries the
    /// operator's decision and the failure it held for, when the partition held at this record (the
    /// hold ends here), and is null for a record that runs as usual.
    /// </summary>
    public bool TryPass(long offset, out (HoldDecision Decision, RecordFailure Failure)? decided)
    {
        decided = null;
        if (Held is not { } held || held.Offset != offset)
        {
            return true;
        }

        if (_decision is not { } decision)
        {
            return false;
        }

        decided = (decision, held.Failure);
        (Held, _decision) = (null, null);
        LogHoldResolved(logger, grainKey, offset, decision);
        return true;
    }

    /// <summary>Holds the partition at <paramref name="record"/>: nothing from it on runs until an operator decides.</summary>
    public void HoldAt(ConsumeResult<byte[], byte[]> record, RecordFailure failure) =>
        Held = new HeldRecord(record.Offset.Value, failure, time.GetUtcNow(), RecordPreview.Of(record.Message.Key), RecordPreview.Of(record.Message.Value));

    /// <summary>An operator's decision about the held record, applied when the held delivery comes again.</summary>
    /// <exception cref="InvalidOperationException">No record is held (on <paramref name="silo"/>, for the message), or the decision is not one.</exception>
    public void Decide(HoldDecision decision, string silo)
    {
        if (Blocked is { } blocked)
        {
            throw new InvalidOperationException($"Partition {grainKey} holds at offset {blocked.Offset}, not at a record, so retry, skip and dead-letter do not apply; seek it (beginning, end or an offset) to go on. Why it holds: {blocked.Error}");
        }

        if (Held is null || !Enum.IsDefined(decision))
        {
            throw new InvalidOperationException(Held is null
                ? $"Partition {grainKey} is not holding a record on silo {silo}; nothing to {decision}. Only a partition in state Holding takes retry, skip or dead-letter."
                : $"'{decision}' is not a decision; expected Retry, Skip or DeadLetter.");
        }

        _decision = decision;
    }

    /// <summary>Holds at a record an earlier activation held at (stored with the control state); nobody has decided yet.</summary>
    public void Restore(HeldRecord held) => (Held, _decision) = (held, null);

    /// <summary>
    /// Holds at <paramref name="offset"/> for <paramref name="error"/>: until a seek, or a new lease
    /// that finds out again; the first report's time is kept.
    /// </summary>
    public void BlockAt(long offset, string error) => Blocked = (offset, error, Blocked is { } earlier && earlier.Offset == offset ? earlier.Since : time.GetUtcNow());

    /// <summary>The held record is behind the partition's position (sought past, or committed before it ran): nothing to hold at.</summary>
    public void Forget() => (Held, _decision, Blocked) = (null, null, null);

    /// <summary>
    /// A new lease: a seek is over, and a block is found out again if its cause is still there. A
    /// held record stays until an operator decides, whoever holds the lease.
    /// </summary>
    public void Reset() => (Seeking, Blocked) = (false, null);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Partition {GrainKey}: the operator decided {Decision} for the held record at offset {Offset}")]
    private static partial void LogHoldResolved(ILogger logger, string grainKey, long offset, HoldDecision decision);
}
