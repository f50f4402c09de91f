namespace OrleansKafka.Bench.Chaos;

/// <summary>
/// The order in which one key's records start under one lease epoch (key grains and streams
/// promise order per key). Offsets first start in increasing order; the record just started may
/// start again (a retry); and the key's records may be replayed: a start of an offset that already
/// ran begins a replay, which must then repeat every offset the key had reached, in order, before
/// anything new. That is what a unit resent after its grain's silo stopped answering does: the
/// first run may have completed before the silo froze, and the sender cannot know. Anything else
/// breaks the order: an offset first started below one already started, or a replay that skips
/// what the key had reached, which is what a stale call does when it runs at a thawed silo after
/// the key's next records ran elsewhere.
/// </summary>
internal sealed class KeyRunOrder
{
    private readonly List<long> _ran = [];
    private readonly Dictionary<long, int> _indexOf = [];
    private int _replayAt = -1;

    /// <summary>The highest offset of the key started so far; -1 before any.</summary>
    public long Highest => _ran.Count == 0 ? -1 : _ran[^1];

    /// <summary>The offset a replay under way must start next; null when none is under way.</summary>
    public long? ReplayExpects => _replayAt >= 0 ? _ran[_replayAt] : null;

    /// <summary>Takes the key's next start; false when it breaks the order (the order then goes on from it).</summary>
    public bool Start(long offset)
    {
        if (_replayAt >= 0)
        {
            if (offset == _ran[_replayAt])
            {
                Replayed();
                return true;
            }

            if (offset == _ran[_replayAt - 1])
            {
                return true;
            }

            if (_indexOf.TryGetValue(offset, out var earlier) && earlier < _replayAt)
            {
                // Replayed again from further back (a second resend).
                _replayAt = earlier;
                Replayed();
                return true;
            }

            _replayAt = -1;
            Append(offset);
            return false;
        }

        if (_ran.Count == 0 || offset > _ran[^1])
        {
            Append(offset);
            return true;
        }

        if (offset == _ran[^1])
        {
            return true;
        }

        if (_indexOf.TryGetValue(offset, out var at))
        {
            _replayAt = at;
            Replayed();
            return true;
        }

        return false;
    }

    private void Append(long offset)
    {
        if (_ran.Count == 0 || offset > _ran[^1])
        {
            _indexOf[offset] = _ran.Count;
            _ran.Add(offset);
        }
    }

    private void Replayed()
    {
        _replayAt++;
        if (_replayAt == _ran.Count)
        {
            _replayAt = -1;
        }
    }
}
