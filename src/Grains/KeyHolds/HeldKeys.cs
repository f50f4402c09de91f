using Confluent.Kafka;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.KeyHolds;

/// <summary>
/// The keys one partition holds, and the records waiting behind them: the grain's own, used on
/// its turns only. Bounded twice: at most <see cref="MaxKeys"/> keys (a processor that fails for
/// many keys at once is failing for all of them, and the partition holds as a whole instead), and
/// at most <see cref="MaxWaiting"/> waiting records, past which the partition stops taking records
/// (<see cref="FullAt"/>) until a key is released; nothing is dropped.
/// </summary>
internal sealed class HeldKeys(int maxWaiting)
{
    /// <summary>The most keys a partition holds at once.</summary>
    public const int MaxKeys = 100;

    private readonly Dictionary<string, HeldKey> _keys = new(StringComparer.Ordinal);

    // Held records an operator skipped or dead-lettered that the commit has not passed yet: a
    // restart fetches them again, and they must not run (and hold) again.
    private readonly SortedSet<long> _resolved = [];

    /// <summary>The most records that wait at once, the held ones included (<see cref="Configuration.ProcessorOptions.MaxWaitingRecords"/>).</summary>
    public int MaxWaiting { get; } = maxWaiting;

    public int Count => _keys.Count;

    /// <summary>Records that wait behind held keys, the held ones included.</summary>
    public int Waiting { get; private set; }

    /// <summary>The offset the partition stopped at because <see cref="MaxWaiting"/> records wait; null when it did not.</summary>
    public long? FullAt { get; set; }

    /// <summary>Whether another key may be held (else the partition holds).</summary>
    public bool HasRoomForAKey => _keys.Count < MaxKeys;

    public bool IsFull => Waiting >= MaxWaiting;

    /// <summary>The lowest offset a held key holds at: nothing at or past it may be committed.</summary>
    public long? LowestOffset => _keys.Count == 0 ? null : _keys.Values.Min(k => k.FirstOffset);

    /// <summary>The earliest automatic retry due; null when none.</summary>
    public DateTimeOffset? NextRetryAt => _keys.Values.Where(k => k.RetryAt is not null && k.Decision is null).Min(k => k.RetryAt);

    /// <summary>Keys whose automatic retry is due and whose held record is here take it as their decision; true when any did.</summary>
    public bool TakeDueRetries(DateTimeOffset now)
    {
        var any = false;
        foreach (var key in _keys.Values.Where(k => k.Decision is null && k.RetryAt <= now && k.Waiting.Count > 0))
        {
            key.Decision = new HoldDecisionTaken(Partitions.HoldDecision.Retry, "automatic retry", now) { Automatic = true };
            any = true;
        }

        return any;
    }

    /// <summary>The held keys, lowest offset first.</summary>
    public IEnumerable<HeldKey> All => _keys.Values.OrderBy(k => k.FirstOffset);

    public bool TryGet(string chain, out HeldKey key) => _keys.TryGetValue(chain, out key!);

    /// <summary>The held key whose held record is at <paramref name="offset"/>; null when none.</summary>
    public HeldKey? AtOffset(long offset) => _keys.Values.FirstOrDefault(k => k.FirstOffset == offset);

    /// <summary>
    /// Holds <paramref name="chain"/> at <paramref name="record"/>, which waits first; its key's
    /// later records wait behind it. <paramref name="retryAt"/>: when it is tried again by itself;
    /// null to wait for an operator.
    /// </summary>
    public HeldKey Hold(string chain, ConsumeResult<byte[], byte[]> record, RecordFailure failure, DateTimeOffset now, DateTimeOffset? retryAt = null)
    {
        if (!_keys.TryGetValue(chain, out var key))
        {
            _keys[chain] = key = new HeldKey(chain);
        }

        if (key.Waiting.Count == 0 || key.Waiting[0].Offset.Value != record.Offset.Value)
        {
            // Held anew (its later record failed after a release, or the first since a restart).
            Waiting -= key.Waiting.Count;
            key.Waiting.RemoveAll(r => r.Offset.Value < record.Offset.Value);
            if (key.Waiting.Count == 0 || key.Waiting[0].Offset.Value != record.Offset.Value)
            {
                key.Waiting.Insert(0, record);
            }

            Waiting += key.Waiting.Count;
        }

        // An automatic retry of the same record keeps when the key began to hold.
        var retried = key.FirstOffset == record.Offset.Value && key.Failure is not null && failure.Attempts > 1;
        key.FirstOffset = record.Offset.Value;
        key.Failure = failure;
        key.Since = retried ? key.Since : now;
        key.RetryAt = retryAt;
        key.Key = RecordPreview.Of(record.Message.Key);
        key.Value = RecordPreview.Of(record.Message.Value);
        key.Decision = null;
        return key;
    }

    /// <summary>Adds a later record of a held key behind the others, unless it waits already (a delivery sent again); false when too many wait.</summary>
    public bool TryPark(HeldKey key, ConsumeResult<byte[], byte[]> record)
    {
        if (key.HasWaiting(record.Offset.Value))
        {
            return true;
        }

        if (IsFull)
        {
            return false;
        }

        key.Waiting.Add(record);
        Waiting++;
        return true;
    }

    /// <summary>The key's first waiting record is done: the next one, if any, is where the key stands.</summary>
    public void Done(HeldKey key)
    {
        key.Waiting.RemoveAt(0);
        Waiting--;
        if (key.Waiting.Count > 0)
        {
            key.FirstOffset = key.Waiting[0].Offset.Value;
        }
    }

    /// <summary>The key runs again: nothing of it waits any more.</summary>
    public void Release(HeldKey key)
    {
        if (_keys.Remove(key.Chain))
        {
            Waiting -= key.Waiting.Count;
            key.Waiting.Clear();
        }
    }

    /// <summary>A new lease begins at the committed offset: the waiting records are fetched again, the keys stay held (with any decision taken).</summary>
    public void Reset()
    {
        foreach (var key in _keys.Values)
        {
            key.Waiting.Clear();
        }

        Waiting = 0;
        FullAt = null;
    }

    /// <summary>Lets go of keys held below <paramref name="next"/> (committed past, by a seek or another tool): nothing of them waits. The keys let go.</summary>
    public List<HeldKey> ForgetBelow(long next)
    {
        var stale = _keys.Values.Where(k => k.FirstOffset < next).ToList();
        foreach (var key in stale)
        {
            Release(key);
        }

        return stale;
    }

    /// <summary>The partition was sought: it holds no key any more.</summary>
    public void Forget()
    {
        _keys.Clear();
        _resolved.Clear();
        Waiting = 0;
        FullAt = null;
    }

    /// <summary>The held record at <paramref name="offset"/> was skipped or dead-lettered by an operator.</summary>
    public void Resolved(long offset) => _resolved.Add(offset);

    public bool IsResolved(long offset) => _resolved.Contains(offset);

    /// <summary>The resolved offsets, lowest first.</summary>
    public IReadOnlyCollection<long> ResolvedOffsets => _resolved;

    /// <summary>Forgets resolved offsets below <paramref name="next"/> (committed past); true when any went.</summary>
    public bool CommittedUpTo(long next) => _resolved.RemoveWhere(o => o < next) > 0;

    public void Restore(IEnumerable<StoredKeyHold> stored, IEnumerable<long> resolved)
    {
        _resolved.UnionWith(resolved);
        foreach (var hold in stored)
        {
            _keys[hold.Chain] = hold.ToHeld();
        }
    }

    public List<StoredKeyHold> ToStored() => [.. All.Select(StoredKeyHold.Of)];
}
