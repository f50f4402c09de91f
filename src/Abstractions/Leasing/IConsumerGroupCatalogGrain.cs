using Orleans.Concurrency;

namespace OrleansKafka.Leasing;

/// <summary>
/// The consumer groups processed in this cluster, and which silo runs which processor in which
/// group (key 0), so tools can find every lease grain and silos can check they agree.
/// </summary>
/// <remarks>
/// Only the inspection side is public; silos register and check their processors through the
/// internal <c>ICatalogProtocolGrain</c> of the same grain, so that protocol can change without
/// changing this package's API.
/// </remarks>
[Alias("OrleansKafka.IConsumerGroupCatalogGrain")]
public interface IConsumerGroupCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>The groups registered so far, sorted.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> GetGroupsAsync();
}
