using System.Collections.Concurrent;

namespace OrleansKafka.Tests.Support;

/// <summary>What test processors saw: every record by partition in arrival order, and processing intervals.</summary>
public sealed class RecordLog
{
    private readonly ConcurrentDictionary<int, ConcurrentQueue<(long Offset, string? Value)>> _byPartition = new();
    private int _active;
    private int _maxActive;

    public ConcurrentQueue<string> Events { get; } = new();

    public int Count => _byPartition.Values.Sum(q => q.Count);

    public int MaxConcurrent => Volatile.Read(ref _maxActive);

    public void Add(int partition, long offset, string? value) =>
        _byPartition.GetOrAdd(partition, _ => new ConcurrentQueue<(long, string?)>()).Enqueue((offset, value));

    public IReadOnlyList<(long Offset, string? Value)> Of(int partition) =>
        _byPartition.TryGetValue(partition, out var q) ? [.. q] : [];

    public IReadOnlyList<(int Partition, long Offset)> All() =>
        [.. _byPartition.SelectMany(kv => kv.Value.Select(r => (kv.Key, r.Offset)))];

    /// <summary>Marks a processing interval, recording the most processors seen running at once.</summary>
    public IDisposable Enter()
    {
        var now = Interlocked.Increment(ref _active);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxActive)) && Interlocked.CompareExchange(ref _maxActive, now, seen) != seen)
        {
        }

        return new Exit(this);
    }

    private sealed class Exit(RecordLog log) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref log._active);
    }
}
