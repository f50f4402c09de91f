using System.Collections.Concurrent;

namespace OrleansKafka.Fetching;

/// <summary>
/// The silo-wide bound on fetched records held in memory (<c>Kafka:SiloBufferBytes</c>), shared
/// by every partition buffer of every group, besides each buffer's own bound. Records count from
/// when they are fetched until their delivery has been processed. At the budget, a buffer holding
/// more than twice its share (the budget over the buffers) is paused, so one stuck or slow partition
/// cannot take the budget from the others; otherwise the fetch workers stop consuming until
/// records are processed, leaving what librdkafka has prefetched where it is (pausing a partition
/// throws that away, and fetching it again is dear).
/// </summary>
/// <remarks>
/// Pausing is done by the fetch workers' threads outside any buffer's lock (see
/// <see cref="Enforce"/>), so a buffer's lock is never taken while another's is held.
/// </remarks>
internal sealed class BufferBudget(long maxBytes)
{
    private readonly ConcurrentDictionary<PartitionBuffer, byte> _buffers = new();
    private readonly Lock _enforce = new();
    private readonly ManualResetEventSlim _room = new(initialState: true);
    private int _bufferCount;
    private long _bytes;
    private long _peak;

    public long MaxBytes => maxBytes;

    /// <summary>Bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The most bytes held at once so far.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    public bool Over => Bytes >= maxBytes;

    /// <summary>What one buffer may hold before it counts as taking more than its part.</summary>
    public long Share => maxBytes / Math.Max(1, Volatile.Read(ref _bufferCount));

    /// <summary>Set once bytes are released while the workers may be waiting for room.</summary>
    public WaitHandle Room => _room.WaitHandle;

    public void Register(PartitionBuffer buffer)
    {
        if (_buffers.TryAdd(buffer, 0))
        {
            Interlocked.Increment(ref _bufferCount);
        }
    }

    public void Unregister(PartitionBuffer buffer)
    {
        if (_buffers.TryRemove(buffer, out _))
        {
            Interlocked.Decrement(ref _bufferCount);
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
    /// At the budget, pauses the unpaused buffer that holds the most if it holds more than twice its
    /// share; one at a time, so that what is already buffered drains before more is paused. Called
    /// by the fetch workers after buffering records, holding no buffer's lock.
    /// </summary>
    /// <returns>
    /// True when the workers should stop consuming for now: the budget is spent, none of the
    /// unpaused buffers holds more than twice its share, and the budget is spent even without the
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
            PartitionBuffer? largest = null;
            long holding = 0;
            foreach (var (buffer, _) in _buffers)
            {
                if (buffer.IsHolding)
                {
                    holding += buffer.BufferedBytes + buffer.InFlightBytes;
                }

                if (buffer.IsPaused)
                {
                    continue;
                }

                if (buffer.BufferedBytes > 0 && (largest is null || buffer.BufferedBytes > largest.BufferedBytes))
                {
                    largest = buffer;
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
