using Orleans.Concurrency;

namespace OrleansKafka.Leasing;

/// <summary>
/// The consumer groups processed in this cluster, and which silo runs which processor in which
/// group (key 0), so tools can find every lease grain and silos can check they agree.
/// </summary>
[Alias("OrleansKafka.IConsumerGroupCatalogGrain")]
public interface IConsumerGroupCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Records that a silo processes a group with the given processors. One-way: every silo
    /// sends it with each lease heartbeat, so a catalog lost with its silo is whole again within
    /// one renew interval.
    /// </summary>
    [OneWay]
    Task RegisterAsync(GroupRegistration registration);

    /// <summary>
    /// Checks a starting silo's processors against those of the live silos, and registers them
    /// if they agree. Returns what differs when a live silo runs a processor of the same name in
    /// another group or on another topic; null when they agree.
    /// </summary>
    Task<string?> CheckAsync(GroupRegistration registration);

    /// <summary>The groups registered so far, sorted.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> GetGroupsAsync();
}
