using OrleansKafka.Partitions;

namespace OrleansKafka.Cli;

/// <summary>Which partitions <c>status</c> shows: by group (asked of the cluster), topic and state (filtered here).</summary>
internal sealed record StatusFilter(string? Group, string? Topic, PartitionState? State)
{
    public IReadOnlyList<PartitionStatus> Apply(IReadOnlyList<PartitionStatus> statuses) =>
        [.. statuses.Where(s => (Topic is null || s.Topic == Topic) && (State is null || s.State == State))];
}
