using System.Collections.Concurrent;
using OrleansKafka.Leasing;

namespace OrleansKafka.Leases;

/// <summary>
/// Which silo owns each partition, as last heard from the lease grains; lets any silo place a
/// partition grain at its owner (a status query arriving through another silo's gateway).
/// </summary>
internal sealed class OwnerDirectory
{
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _byGroup = new(StringComparer.Ordinal);

    public void Update(string group, IReadOnlyList<PartitionAssignment> owners) =>
        _byGroup[group] = owners.Where(o => o.Owner is not null)
            .ToDictionary(o => Partitions.PartitionGrainKey.Format(group, o.Topic, o.Partition), o => o.Owner!, StringComparer.Ordinal);

    /// <summary>The owner's silo identity (endpoint) for a partition grain key, if known.</summary>
    public string? OwnerOf(string grainKey)
    {
        var (group, _, _) = Partitions.PartitionGrainKey.Parse(grainKey);
        return _byGroup.TryGetValue(group, out var owners) ? owners.GetValueOrDefault(grainKey) : null;
    }
}
