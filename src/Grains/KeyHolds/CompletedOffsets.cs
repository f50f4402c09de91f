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
        Version++;
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
        if (_ranges.Count == 0 || _ranges[0].From >= offset)
        {
            return;
        }

        Version++;
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

    public void Clear()
    {
        _ranges.Clear();
        Version++;
    }

    /// <summary>Counts the changes, so that an unchanged set is not encoded again.</summary>
    public long Version { get; private set; }

    /// <summary>Adds every offset of <c>[from, to)</c>.</summary>
    public void AddRange(long from, long to)
    {
        if (from >= to)
        {
            return;
        }

        if (_ranges.Count == 0 || from > _ranges[^1].To)
        {
            Version++;
            _ranges.Add((from, to));
            return;
        }

        for (var offset = from; offset < to; offset++)
        {
            Add(offset);
        }
    }

    /// <summary>
    /// The ranges as text for Kafka's commit metadata, each relative to the end of the one before
    /// (the first to <paramref name="next"/>, the committed offset): <c>gap+length</c>, joined by
    /// dots; <c>3+40.1+999</c> is <c>[next+3, next+43)</c> and <c>[next+44, next+1043)</c>. At most
    /// <paramref name="maxChars"/> characters: the ranges nearest the commit that fit (the rest are
    /// processed again after a move: at-least-once). Null when empty.
    /// </summary>
    public string? Encode(long next, int maxChars)
    {
        if (_ranges.Count == 0)
        {
            return null;
        }

        var text = new System.Text.StringBuilder();
        var end = next;
        foreach (var (from, to) in _ranges)
        {
            var part = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(text.Length == 0 ? string.Empty : ".")}{from - end}+{to - from}");
            if (from < next || text.Length + part.Length > maxChars)
            {
                break;
            }

            text.Append(part);
            end = to;
        }

        return text.Length == 0 ? null : text.ToString();
    }

    // Beyond any partition's offsets: a bound that keeps damaged text from overflowing.
    private const long MaxDecoded = 1L << 50;

    /// <summary>The ranges of <see cref="Encode"/>'s text, as absolute offsets; none for text that is not such (another version's, or damaged).</summary>
    public static List<(long From, long To)> Decode(long next, string? text)
    {
        var ranges = new List<(long From, long To)>();
        var end = next;
        foreach (var part in (text ?? string.Empty).Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var plus = part.IndexOf('+', StringComparison.Ordinal);
            if (plus <= 0
                || !long.TryParse(part.AsSpan(0, plus), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var gap)
                || !long.TryParse(part.AsSpan(plus + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
                || gap < 1 || length < 1 || gap > MaxDecoded || length > MaxDecoded || end > long.MaxValue - (2 * MaxDecoded))
            {
                // Not a map this product wrote (it never writes a gap of 0): taken as none.
                return [];
            }

            ranges.Add((end + gap, end + gap + length));
            end += gap + length;
        }

        return ranges;
    }

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
