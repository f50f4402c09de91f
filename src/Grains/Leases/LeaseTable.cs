using System.Collections.Concurrent;

namespace OrleansKafka.Leases;

/// <summary>The leases this silo holds, by partition grain key; shared by the fetch path, the committer and the grains.</summary>
internal sealed class LeaseTable
{
    private readonly ConcurrentDictionary<string, LocalLease> _leases = new(StringComparer.Ordinal);

    public bool TryGet(string grainKey, out LocalLease lease) => _leases.TryGetValue(grainKey, out lease!);

    public void Add(LocalLease lease) => _leases[lease.GrainKey] = lease;

    /// <summary>Removes the lease if it is still the one registered under its key.</summary>
    public void Remove(LocalLease lease) => _leases.TryRemove(new KeyValuePair<string, LocalLease>(lease.GrainKey, lease));

    public IEnumerable<LocalLease> All() => _leases.Values;

    public IEnumerable<LocalLease> OfGroup(string group) => _leases.Values.Where(l => l.Group == group);
}
