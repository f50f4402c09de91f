using Confluent.Kafka;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;

namespace OrleansKafka.Partitions;

/// <summary>
/// Where a key-ordered partition stands within a lease: the frontier (every record below it
/// completed or waits behind a held key), the records completed past the next offset (a delivery
/// sent again must not run them twice), and the next offset itself: the frontier, or the lowest
/// held record when that is lower.
/// </summary>
internal sealed class KeyOrderFrontier(PartitionCheckpoint checkpoint, HeldKeys heldKeys)
{
    private readonly CompletedOffsets _completedAhead = new();

    // -1: not yet known in this lease.
    private long _frontier = -1;

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

    public void Reset()
    {
        _completedAhead.Clear();
        _frontier = -1;
    }
}
