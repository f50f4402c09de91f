using System.Collections.Concurrent;

namespace OrleansKafka.Fetching;

/// <summary>
/// The silo-wide bound on fetched records held in memory (<c>Kafka:SiloBufferBytes</c>), shared
/// by every partition feed of every group, besides each feed's own bound. Records count from
/// when they are fetched until their delivery has been processed. At the budget, a feed holding
/// more than twice its share (the budget over the feeds) is paused, so one stuck or slow partition
/// cannot take the budget from the others; otherwise the fetch workers stop consuming until
/// records are processed, leaving what librdkafka has prefetched where it is (pausing a partition
/// throws that away, and fetching it again cost the backlog benchmark half its throughput).
/// </summary>
/// <remarks>
/// Pausing is done by the fetch workers' threads outside any feed's lock (see
/// <see cref="Enforce"/>), so a feed's lock is never taken while another's is held.
/// </remarks>
internal sealed class BufferBudget(long maxBytes)
{
    private readonly ConcurrentDictionary<PartitionFeed, byte> _feeds = new();
    private readonly Lock _enforce = new();
    private readonly ManualResetEventSlim _room = new(initialState: true);
    private int _feedCount;
    private long _bytes;
    private long _peak;

    public long MaxBytes => maxBytes;

    /// <summary>Bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The most bytes held at once so far.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    public bool Over => Bytes >= maxBytes;

    /// <summary>What one feed may hold before it counts as taking more than its part.</summary>
    public long Share => maxBytes / Math.Max(1, Volatile.Read(ref _feedCount));

    /// <summary>Set once bytes are released while the workers may be waiting for room.</summary>
    public WaitHandle Room => _room.WaitHandle;

    public void Register(PartitionFeed feed)
    {
        if (_feeds.TryAdd(feed, 0))
        {
            Interlocked.Increment(ref _feedCount);
        }
    }

    public void Unregister(PartitionFeed feed)
    {
        if (_feeds.TryRemove(feed, out _))
        {
            Interlocked.Decrement(ref _feedCount);
        }
    }

    public void Add(long bytes)
    {
        var now = Interlocked.Add(ref _bytes, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }

        if (bytes < 0)
        {
            _room.Set();
        }
    }

    public void Remove(long bytes)
    {
        Interlocked.Add(ref _bytes, -bytes);
        _room.Set();
    }

    /// <summary>
    /// At the budget, pauses the unpaused feed that holds the most if it holds more than twice its
    /// share; one at a time, so that what is already buffered drains before more is paused. Called
    /// by the fetch workers after buffering records, holding no feed's lock.
    /// </summary>
    /// <returns>
    /// True when the workers should stop consuming for now: the budget is spent, none of the
    /// unpaused feeds holds more than twice its share, and the budget is spent even without the
    /// records (buffered, and the held delivery's) of partitions that hold at a record for an
    /// operator. Those do not drain until
    /// someone decides, and waiting for them would starve every other partition.
    /// </returns>
    public bool Enforce()
    {
        if (!Over)
        {
            return false;
        }

        lock (_enforce)
        {
            _room.Reset();
            PartitionFeed? largest = null;
            long holding = 0;
            foreach (var (feed, _) in _feeds)
            {
                if (feed.IsHolding)
                {
                    holding += feed.BufferedBytes + feed.InFlightBytes;
                }

                if (feed.IsPaused)
                {
                    continue;
                }

                if (feed.BufferedBytes > 0 && (largest is null || feed.BufferedBytes > largest.BufferedBytes))
                {
                    largest = feed;
                }
            }

            if (largest is not null && largest.BufferedBytes > 2 * Share)
            {
                largest.PauseForBudget();
                return false;
            }

            return Bytes - holding >= maxBytes;
        }
    }
}
