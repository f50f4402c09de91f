using System.Collections.Concurrent;

namespace OrleansKafka.Leases;

/// <summary>
/// The leases this silo holds, by partition grain key; shared by the fetch path, the committer and
/// the grains. It also remembers, per partition, the newest epoch of a lease this silo held that
/// has ended, so a call sent under it that was still queued here can be refused (<see cref="HasEnded"/>).
/// </summary>
internal sealed class LeaseTable
{
    private readonly ConcurrentDictionary<string, LocalLease> _leases = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _ended = new(StringComparer.Ordinal);

    public bool TryGet(string grainKey, out LocalLease lease) => _leases.TryGetValue(grainKey, out lease!);

    public void Add(LocalLease lease)
    {
        _leases[lease.GrainKey] = lease;

        // The held lease now answers for older epochs; should epochs ever have gone down (a lease
        // grain whose state was lost), a remembered higher one must not refuse the new owner.
        _ended.TryRemove(lease.GrainKey, out _);
    }

    /// <summary>Removes the lease if it is still the one registered under its key, and remembers that its epoch ended.</summary>
    public void Remove(LocalLease lease)
    {
        // Remembered before the lease leaves the table, so HasEnded never finds neither.
        _ended.AddOrUpdate(lease.GrainKey, lease.Epoch, (_, ended) => Math.Max(ended, lease.Epoch));
        _leases.TryRemove(new KeyValuePair<string, LocalLease>(lease.GrainKey, lease));
    }

    public IEnumerable<LocalLease> All() => _leases.Values;

    public IEnumerable<LocalLease> OfGroup(string group) => _leases.Values.Where(l => l.Group == group);

    /// <summary>
    /// True when this silo knows that the lease of partition <paramref name="grainKey"/> under
    /// <paramref name="epoch"/> is over: this silo held that epoch and it was lost, ran out by this
    /// silo's lease clock, or was given up; or this silo holds or held a later epoch (granted only
    /// once every earlier lease had ended). False when this silo knows nothing of it: a lease of
    /// another silo is judged there.
    /// </summary>
    /// <remarks>
    /// A call sent under a lease of this silo, to a grain on this silo, is judged on the clock the
    /// lease's deadline is on: what a frozen silo had queued before the freeze is refused after it.
    /// A revoked lease whose drain still waits for its calls is not over: those calls run.
    /// </remarks>
    public bool HasEnded(string grainKey, long epoch)
    {
        if (_leases.TryGetValue(grainKey, out var lease) && lease.Epoch >= epoch)
        {
            return lease.Epoch > epoch || !lease.CanCommit;
        }

        return _ended.TryGetValue(grainKey, out var ended) && ended >= epoch;
    }
}
