using OrleansKafka.Leasing;

namespace OrleansKafka.Partitions;

/// <summary>Lists every partition grain of the cluster with its live status, for tools (CLI, dashboard).</summary>
public static class PartitionDirectory
{
    /// <summary>
    /// The status of every known partition of every consumer group, sorted by group, topic and
    /// partition. Partitions without an owner are listed as <see cref="PartitionState.NotOwner"/>.
    /// </summary>
    public static async Task<IReadOnlyList<PartitionStatus>> GetStatusesAsync(IGrainFactory grains, string? group = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var groups = group is null ? await grains.GetGrain<IConsumerGroupCatalogGrain>(0).GetGroupsAsync() : [group];
        var results = new List<PartitionStatus>();
        foreach (var name in groups)
        {
            var assignments = await grains.GetGrain<IPartitionLeaseGrain>(name).GetAssignmentsAsync();
            var statuses = await Task.WhenAll(assignments.Select(a => StatusAsync(grains, name, a)));
            results.AddRange(statuses);
        }

        return results;
    }

    private static async Task<PartitionStatus> StatusAsync(IGrainFactory grains, string group, PartitionAssignment assignment)
    {
        if (assignment.Owner is null)
        {
            return new PartitionStatus
            {
                Group = group,
                Topic = assignment.Topic,
                Partition = assignment.Partition,
                Silo = "-",
                State = PartitionState.NotOwner,
                LeaseEpoch = assignment.Epoch,
            };
        }

        return await grains.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(group, assignment.Topic, assignment.Partition)).GetStatusAsync();
    }
}
