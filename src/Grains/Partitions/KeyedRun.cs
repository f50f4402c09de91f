using Confluent.Kafka;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>Records of one chain that go to the processor together: indices into the delivery, in offset order.</summary>
/// <remarks><see cref="AtHold"/>: the record the partition held at, alone; <see cref="Decided"/> is the operator's decision about it once it starts.</remarks>
internal sealed record ChainUnit(string Chain, List<int> Indices, bool AtHold)
{
    public (HoldDecision Decision, RecordFailure Failure)? Decided { get; init; }
}

/// <summary>A unit's records as a list of their own, for the runner.</summary>
internal sealed class ChainRecords(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, List<int> indices) : IReadOnlyList<ConsumeResult<byte[], byte[]>>, IOffsetIndexed
{
    public int Count => indices.Count;

    public ConsumeResult<byte[], byte[]> this[int index] => records[indices[index]];

    public long OffsetAt(int index) => RecordOffsets.OffsetAt(records, indices[index]);

    public IEnumerator<ConsumeResult<byte[], byte[]>> GetEnumerator() => indices.Select(i => records[i]).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>One delivery's key-ordered run: the in-flight bound, what completed and what waits behind a held key, and where it stopped to hold.</summary>
internal sealed class KeyedRun(SemaphoreSlim slots, bool[] done, bool[] parked)
{
    public SemaphoreSlim Slots { get; } = slots;

    /// <summary>Per record of the delivery: completed (skipped and dead-lettered ones included).</summary>
    public bool[] Done { get; } = done;

    /// <summary>Per record of the delivery: waits behind its held key.</summary>
    public bool[] Parked { get; } = parked;

    public long? HeldOffset { get; private set; }

    public bool Stopped => HeldOffset is not null;

    /// <summary>True once a key grain refused a record as sent under a stale lease epoch.</summary>
    public bool Superseded { get; private set; }

    /// <summary>
    /// Record <paramref name="index"/> waits behind its held <paramref name="key"/>; false when too
    /// many records wait already: the run stops there, and the partition says why.
    /// </summary>
    public bool Park(HeldKeys keys, HeldKey key, ConsumeResult<byte[], byte[]> record, int index)
    {
        if (keys.TryPark(key, record))
        {
            Parked[index] = true;
            return true;
        }

        keys.FullAt = record.Offset.Value;
        HoldAt(record.Offset.Value);
        return false;
    }

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
