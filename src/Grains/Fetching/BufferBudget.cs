using System.Collections.Concurrent;

namespace OrleansKafka.Fetching;

/// <summary>
/// The silo-wide bound on fetched records held in memory (<c>Kafka:SiloBufferBytes</c>), shared
/// by every partition feed of every group, besides each feed's own bound. Records count from
/// when they are fetched until their delivery has been processed. Over the budget, the feeds that
/// hold the most are paused first; they resume once the silo is back under three quarters of it.
/// </summary>
/// <remarks>
/// Pausing is done by the fetch workers' threads outside any feed's lock (see
/// <see cref="Enforce"/>), so a feed's lock is never taken while another's is held.
/// </remarks>
internal sealed class BufferBudget(long maxBytes)
{
    private readonly ConcurrentDictionary<PartitionFeed, byte> _feeds = new();
    private readonly Lock _enforce = new();
    private long _bytes;
    private long _peak;

    public long MaxBytes => maxBytes;

    /// <summary>Bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The most bytes held at once so far.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    public bool Over => Bytes >= maxBytes;

    /// <summary>Back under three quarters of the budget: paused feeds may resume.</summary>
    public bool Low => Bytes < maxBytes / 4 * 3;

    public void Register(PartitionFeed feed) => _feeds[feed] = 0;

    public void Unregister(PartitionFeed feed) => _feeds.TryRemove(feed, out _);

    public void Add(long bytes)
    {
        var now = Interlocked.Add(ref _bytes, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }
    }

    public void Remove(long bytes) => Interlocked.Add(ref _bytes, -bytes);

    /// <summary>
    /// While over the budget, pauses the unpaused feed that holds the most; one at a time, so that
    /// what is already buffered drains before more is paused. Called by the fetch workers after
    /// buffering records, holding no feed's lock.
    /// </summary>
    public void Enforce()
    {
        if (!Over)
        {
            return;
        }

        lock (_enforce)
        {
            PartitionFeed? largest = null;
            foreach (var feed in _feeds.Keys)
            {
                if (!feed.IsPaused && feed.BufferedBytes > 0 && (largest is null || feed.BufferedBytes > largest.BufferedBytes))
                {
                    largest = feed;
                }
            }

            largest?.PauseForBudget();
        }
    }
}
