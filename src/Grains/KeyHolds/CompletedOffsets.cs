namespace OrleansKafka.KeyHolds;

/// <summary>
/// Offsets a partition completed past its next offset (the contiguous commit), as ranges: while a
/// key waits, the other keys' records complete above it, and a delivery sent again must not run
/// them twice. Mostly appended in offset order, so the common add is at the end; a held key's
/// records are the only gaps, so the ranges number about as many as the records that wait.
/// </summary>
internal sealed class CompletedOffsets
{
    // [From, To), ascending, neither overlapping nor touching.
    private readonly List<(long From, long To)> _ranges = [];

    public int RangeCount => _ranges.Count;

    public IReadOnlyList<(long From, long To)> Ranges => _ranges;

    public bool Contains(long offset)
    {
        var i = LastStartingAtOrBelow(offset);
        return i >= 0 && offset < _ranges[i].To;
    }

    public void Add(long offset)
    {
        if (_ranges.Count == 0 || offset > _ranges[^1].To)
        {
            _ranges.Add((offset, offset + 1));
            return;
        }

        if (offset == _ranges[^1].To)
        {
            _ranges[^1] = (_ranges[^1].From, offset + 1);
            return;
        }

        var i = LastStartingAtOrBelow(offset);
        if (i >= 0 && offset < _ranges[i].To)
        {
            return;
        }

        var joinsLeft = i >= 0 && _ranges[i].To == offset;
        var joinsRight = i + 1 < _ranges.Count && _ranges[i + 1].From == offset + 1;
        if (joinsLeft && joinsRight)
        {
            _ranges[i] = (_ranges[i].From, _ranges[i + 1].To);
            _ranges.RemoveAt(i + 1);
        }
        else if (joinsLeft)
        {
            _ranges[i] = (_ranges[i].From, offset + 1);
        }
        else if (joinsRight)
        {
            _ranges[i + 1] = (offset, _ranges[i + 1].To);
        }
        else
        {
            _ranges.Insert(i + 1, (offset, offset + 1));
        }
    }

    /// <summary>Forgets the offsets below <paramref name="offset"/> (the next offset moved past them).</summary>
    public void RemoveBelow(long offset)
    {
        var drop = 0;
        while (drop < _ranges.Count && _ranges[drop].To <= offset)
        {
            drop++;
        }

        _ranges.RemoveRange(0, drop);
        if (_ranges.Count > 0 && _ranges[0].From < offset)
        {
            _ranges[0] = (offset, _ranges[0].To);
        }
    }

    public void Clear() => _ranges.Clear();

    private int LastStartingAtOrBelow(long offset)
    {
        int low = 0, high = _ranges.Count - 1, found = -1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            if (_ranges[middle].From <= offset)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return found;
    }
}
