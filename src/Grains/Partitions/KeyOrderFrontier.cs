using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// Where a key-ordered partition stands within a lease: the frontier (every record below it
/// completed or waits behind a held key), the records completed past the next offset (a delivery
/// sent again must not run them twice), and the next offset itself: the frontier, or the lowest
/// held record when that is lower.
/// </summary>
internal sealed partial class KeyOrderFrontier(string grainKey, PartitionCheckpoint checkpoint, HeldKeys heldKeys, ILogger logger)
{
    // The lease whose commit note was read for what its last owner completed ahead; -1 for none.
    private long _seededEpoch = -1;

    private readonly CompletedOffsets _completedAhead = new();

    // -1: not yet known in this lease.
    private long _frontier = -1;

    // The last text of the completed records for the commit note, and what it was made of.
    private (long Version, long Next, string? Text) _encoded = (-1, -1, null);

    /// <summary>Whether the record at <paramref name="offset"/> completed already (or an operator skipped or dead-lettered it).</summary>
    public bool IsCompleted(long offset) => _completedAhead.Contains(offset) || heldKeys.IsResolved(offset);

    public void Completed(long offset) => _completedAhead.Add(offset);

    /// <summary>
    /// Moves the frontier past the contiguous prefix of a delivery that completed or waits,
    /// remembers what completed, and settles the next offset.
    /// </summary>
    public void Advance(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, bool[] done, bool[] parked)
    {
        _frontier = Math.Max(_frontier, checkpoint.NextOffset);
        var passed = start;
        while (passed < records.Count && (done[passed] || parked[passed]))
        {
            passed++;
        }

        if (passed > start)
        {
            _frontier = Math.Max(_frontier, RecordOffsets.OffsetAt(records, passed - 1) + 1);
        }

        for (var i = start; i < records.Count; i++)
        {
            if (done[i])
            {
                _completedAhead.Add(RecordOffsets.OffsetAt(records, i));
            }
        }

        Settle();
    }

    /// <summary>Moves the next offset to the frontier, or to the lowest held record when that is lower.</summary>
    public void Settle()
    {
        if (_frontier < 0)
        {
            return;
        }

        var next = heldKeys.LowestOffset is { } held ? Math.Min(_frontier, held) : _frontier;
        if (next > checkpoint.NextOffset)
        {
            checkpoint.NextOffset = next;
        }

        _completedAhead.RemoveBelow(checkpoint.NextOffset);
        heldKeys.CommittedUpTo(checkpoint.NextOffset);
    }

    /// <summary>The records completed past the next offset, as the commit note carries them (<see cref="CommitNote.Done"/>); null for none.</summary>
    public string? CompletedAheadText()
    {
        var next = checkpoint.NextOffset;
        if (_encoded.Version != _completedAhead.Version || _encoded.Next != next)
        {
            _encoded = (_completedAhead.Version, next, _completedAhead.Encode(next, CommitNote.MaxDoneChars));
        }

        return _encoded.Text;
    }

    /// <summary>
    /// At a lease's first delivery: the records its last owner completed past the committed
    /// offset (the commit note's map) are not run again; without a note, or starting elsewhere
    /// (a seek), they are (at-least-once).
    /// </summary>
    public async Task SeedAsync(LocalLease lease, Func<LocalLease, Task<(long Offset, CommitNote? Note)?>> readCommitted)
    {
        if (_seededEpoch == lease.Epoch)
        {
            return;
        }

        _seededEpoch = lease.Epoch;
        // Only where the lease's fetch started: the offset found committed, or handed over, when it began.
        if (await readCommitted(lease) is ({ } committed, { Done: { } done }) && committed == lease.CommittedOffset && Seed(committed, done) is > 0 and var taken)
        {
            LogSeeded(logger, grainKey, taken, committed);
        }
    }

    /// <summary>
    /// A new lease starts at <paramref name="committed"/>: the records the commit note says were
    /// completed past it (by the last owner) count as completed. The number of offsets taken.
    /// </summary>
    public long Seed(long committed, string? done)
    {
        long taken = 0;
        foreach (var (from, to) in CompletedOffsets.Decode(committed, done))
        {
            _completedAhead.AddRange(from, to);
            taken += to - from;
        }

        return taken;
    }

    public void Reset()
    {
        _completedAhead.Clear();
        _frontier = -1;
    }

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "Partition {GrainKey}: {Offsets} offsets past the committed offset {Committed} were completed by the last owner (its commit note says); they are not run again")]
    private static partial void LogSeeded(ILogger logger, string grainKey, long offsets, long committed);
}
