using OrleansKafka.Leasing;

namespace OrleansKafka.Partitions;

/// <summary>Reaches the partition grains from any grain factory: one by its partition, or all of them with their live status (the CLI, the Kafka page).</summary>
public static class PartitionGrainFactoryExtensions
{
    /// <summary>The partition grain of <paramref name="partition"/> of <paramref name="topic"/> in consumer group <paramref name="group"/>.</summary>
    public static IPartitionGrain GetPartitionGrain(this IGrainFactory grains, string group, string topic, int partition)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return grains.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(group, topic, partition));
    }

    /// <summary>
    /// The partition grain of <paramref name="partition"/> of <paramref name="topic"/> in
    /// <paramref name="group"/> if the cluster knows that partition (the group is in the catalog and
    /// its lease grain lists the partition), null otherwise. Asks the catalog and the group's lease
    /// grain only, so a name that does not exist activates no grain: the way for a tool or an
    /// endpoint to take names from its caller.
    /// </summary>
    public static async Task<IPartitionGrain?> FindPartitionGrainAsync(this IGrainFactory grains, string group, string topic, int partition)
    {
        ArgumentNullException.ThrowIfNull(grains);
        if (string.IsNullOrWhiteSpace(group) || string.IsNullOrWhiteSpace(topic) || partition < 0 || !await IsGroupKnownAsync(grains, group))
        {
            return null;
        }

        var assignments = await grains.GetGrain<IPartitionLeaseGrain>(group).GetAssignmentsAsync();
        return assignments.Any(a => a.Partition == partition && string.Equals(a.Topic, topic, StringComparison.Ordinal))
            ? grains.GetPartitionGrain(group, topic, partition)
            : null;
    }

    /// <summary>
    /// The status of every known partition of every consumer group (or of <paramref name="group"/>),
    /// sorted by group, topic and partition. Partitions without an owner are listed as
    /// <see cref="PartitionState.NotOwner"/>. A group that is not in the catalog has none.
    /// </summary>
    public static async Task<IReadOnlyList<PartitionStatus>> GetPartitionStatusesAsync(this IGrainFactory grains, string? group = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var known = await grains.GetGrain<IConsumerGroupCatalogGrain>(0).GetGroupsAsync();
        var groups = group is null ? known : known.Where(g => string.Equals(g, group, StringComparison.Ordinal)).ToList();
        var results = new List<PartitionStatus>();
        foreach (var name in groups)
        {
            var lease = grains.GetGrain<IPartitionLeaseGrain>(name);
            var assignments = await lease.GetAssignmentsAsync();
            var desired = (await lease.GetLoadAsync()).SilosDesired;
            results.AddRange((await Task.WhenAll(assignments.Select(a => StatusAsync(grains, name, a)))).Select(s => s with { GroupSilosDesired = desired }));
        }

        return results;
    }

    /// <summary>
    /// Every consumer group's load as its lease grain measures it (or only <paramref name="group"/>'s),
    /// sorted by group: the cost per silo and the silos the group needs.
    /// </summary>
    public static async Task<IReadOnlyList<GroupLoad>> GetGroupLoadsAsync(this IGrainFactory grains, string? group = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var known = await grains.GetGrain<IConsumerGroupCatalogGrain>(0).GetGroupsAsync();
        var groups = known.Where(g => group is null || string.Equals(g, group, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        return await Task.WhenAll(groups.Select(g => grains.GetGrain<IPartitionLeaseGrain>(g).GetLoadAsync()));
    }

    private static async Task<bool> IsGroupKnownAsync(IGrainFactory grains, string group) =>
        (await grains.GetGrain<IConsumerGroupCatalogGrain>(0).GetGroupsAsync()).Contains(group, StringComparer.Ordinal);

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
                Cost = assignment.Cost,
                Waiting = assignment.Waiting,
            };
        }

        return await grains.GetPartitionGrain(group, assignment.Topic, assignment.Partition).GetStatusAsync() with { Cost = assignment.Cost };
    }
}
