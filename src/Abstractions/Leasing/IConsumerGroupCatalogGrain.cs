using Orleans.Concurrency;

namespace OrleansKafka.Leasing;

/// <summary>The consumer groups processed in this cluster (key 0), so tools can find every lease grain.</summary>
[Alias("OrleansKafka.IConsumerGroupCatalogGrain")]
public interface IConsumerGroupCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Records that a silo processes a group. One-way: every silo sends it with each lease
    /// heartbeat, so a catalog lost with its silo is whole again within one renew interval.
    /// </summary>
    [OneWay]
    Task RegisterAsync(string group);

    /// <summary>The groups registered so far, sorted.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> GetGroupsAsync();
}
