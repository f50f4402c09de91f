using Orleans.Concurrency;
using OrleansKafka.Leasing;

namespace OrleansKafka.LeaseProtocol;

/// <summary>
/// The silos' side of the cluster's consumer-group catalog (key 0); the same grain as the
/// public, read-only <see cref="IConsumerGroupCatalogGrain"/>.
/// </summary>
/// <remarks>
/// Internal so registration and its message can change without changing the public API.
/// The alias keeps the interface's wire name independent of its namespace.
/// </remarks>
[Alias("OrleansKafka.ICatalogProtocolGrain")]
internal interface ICatalogProtocolGrain : IGrainWithIntegerKey
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
}
