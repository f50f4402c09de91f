using System.Collections.Concurrent;

namespace OrleansKafka.Leases;

/// <summary>
/// The partition grains activated on this silo, by key. Lets the silo tell an activation it gave
/// a partition up without creating one by the call when there is none.
/// </summary>
internal sealed class PartitionActivations
{
    private readonly ConcurrentDictionary<string, byte> _keys = new(StringComparer.Ordinal);

    public void Add(string grainKey) => _keys.TryAdd(grainKey, 0);

    public void Remove(string grainKey) => _keys.TryRemove(grainKey, out _);

    public bool Contains(string grainKey) => _keys.ContainsKey(grainKey);
}
