using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace OrleansKafka.Tests.Support;

/// <summary>What test processors saw: every record by partition in arrival order, and processing intervals.</summary>
public sealed class RecordLog
{
    private readonly ConcurrentDictionary<int, ConcurrentQueue<(long Offset, string? Value)>> _byPartition = new();
    private readonly ConcurrentDictionary<int, ConcurrentQueue<long>> _epochsByPartition = new();
    private readonly ConcurrentDictionary<int, StrongBox<int>> _activeByPartition = new();
    private int _active;
    private int _maxActive;
    private int _overlaps;

    public ConcurrentQueue<string> Events { get; } = new();

    public int Count => _byPartition.Values.Sum(q => q.Count);

    public int MaxConcurrent => Volatile.Read(ref _maxActive);

    /// <summary>How many times a record of a partition started while another of the same partition was being processed.</summary>
    public int PartitionOverlaps => Volatile.Read(ref _overlaps);

    public void Add(int partition, long offset, string? value, long epoch = 0)
    {
        _byPartition.GetOrAdd(partition, _ => new ConcurrentQueue<(long, string?)>()).Enqueue((offset, value));
        _epochsByPartition.GetOrAdd(partition, _ => new ConcurrentQueue<long>()).Enqueue(epoch);
    }

    /// <summary>The lease epochs a partition's records were processed under, in order, each once.</summary>
    public IReadOnlyList<long> EpochsOf(int partition) =>
        _epochsByPartition.TryGetValue(partition, out var q) ? [.. q.Distinct()] : [];

    /// <summary>Records of a partition processed under an older epoch after a newer epoch had been seen: the work of a stale owner.</summary>
    public int StaleRecords(int partition)
    {
        var stale = 0;
        var newest = long.MinValue;
        foreach (var epoch in _epochsByPartition.TryGetValue(partition, out var q) ? q.ToArray() : [])
        {
            stale += epoch < newest ? 1 : 0;
            newest = Math.Max(newest, epoch);
        }

        return stale;
    }

    public IReadOnlyList<(long Offset, string? Value)> Of(int partition) =>
        _byPartition.TryGetValue(partition, out var q) ? [.. q] : [];

    public IReadOnlyList<(int Partition, long Offset)> All() =>
        [.. _byPartition.SelectMany(kv => kv.Value.Select(r => (kv.Key, r.Offset)))];

    /// <summary>
    /// Marks a processing interval of one partition, recording the most processors seen running at
    /// once and any overlap of two intervals of the same partition (two activations at work).
    /// </summary>
    public IDisposable Enter(int partition)
    {
        var mine = _activeByPartition.GetOrAdd(partition, _ => new StrongBox<int>());
        if (Interlocked.Increment(ref mine.Value) > 1)
        {
            Interlocked.Increment(ref _overlaps);
        }

        var now = Interlocked.Increment(ref _active);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxActive)) && Interlocked.CompareExchange(ref _maxActive, now, seen) != seen)
        {
        }

        return new Exit(this, mine);
    }

    private sealed class Exit(RecordLog log, StrongBox<int> partition) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.Decrement(ref partition.Value);
            Interlocked.Decrement(ref log._active);
        }
    }
}
