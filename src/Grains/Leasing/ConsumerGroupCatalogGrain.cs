namespace OrleansKafka.Leasing;

/// <summary>Keeps the names of the consumer groups silos process; silos re-register with every lease heartbeat, so losing it loses nothing.</summary>
[GrainType("orleanskafka.catalog")]
internal sealed class ConsumerGroupCatalogGrain : Grain, IConsumerGroupCatalogGrain
{
    private readonly SortedSet<string> _groups = new(StringComparer.Ordinal);

    public Task RegisterAsync(string group)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        _groups.Add(group);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetGroupsAsync() => Task.FromResult<IReadOnlyList<string>>([.. _groups]);
}
