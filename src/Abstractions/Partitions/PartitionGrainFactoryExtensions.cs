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
    /// The status of every known partition of every consumer group (or of <paramref name="group"/>),
    /// sorted by group, topic and partition. Partitions without an owner are listed as
    /// <see cref="PartitionState.NotOwner"/>.
    /// </summary>
    public static async Task<IReadOnlyList<PartitionStatus>> GetPartitionStatusesAsync(this IGrainFactory grains, string? group = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var groups = group is null ? await grains.GetGrain<IConsumerGroupCatalogGrain>(0).GetGroupsAsync() : [group];
        var results = new List<PartitionStatus>();
        foreach (var name in groups)
        {
            var assignments = await grains.GetGrain<IPartitionLeaseGrain>(name).GetAssignmentsAsync();
            results.AddRange(await Task.WhenAll(assignments.Select(a => StatusAsync(grains, name, a))));
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

        return await grains.GetPartitionGrain(group, assignment.Topic, assignment.Partition).GetStatusAsync();
    }
}
