using Orleans.Concurrency;
using OrleansKafka.Partitions;

namespace OrleansKafka.Delivery;

/// <summary>The fetch path's side of a partition grain.</summary>
[Alias("OrleansKafka.IPartitionDeliveryGrain")]
internal interface IPartitionDeliveryGrain : IPartitionGrain
{
    /// <summary>
    /// Processes the records in offset order. Records below the next expected offset are
    /// skipped, so a delivery resent after a timeout is not processed twice.
    /// </summary>
    Task<DeliveryOutcome> DeliverAsync(Immutable<PartitionDelivery> delivery);

    /// <summary>
    /// The fetch path of the lease holder <paramref name="from"/> (lease <paramref name="epoch"/>)
    /// stopped at an offset Kafka does not hold; every record before it was delivered. The grain
    /// applies its processor's OnOffsetReset: <see cref="DeliveryOutcome.Held"/> while it holds
    /// (tell it again after an operator acts), <see cref="DeliveryOutcome.Stopped"/> once it has
    /// moved the partition on (a new lease starts there).
    /// </summary>
    Task<DeliveryOutcome> OffsetResetAsync(OffsetOutOfRange reset, long epoch, Orleans.Runtime.SiloAddress? from);

    /// <summary>
    /// This silo gave the partition's lease up: the activation goes away once idle (unless the
    /// silo holds the lease again), so the next owner's first delivery activates the grain at
    /// the next owner instead of reaching this one.
    /// </summary>
    [OneWay]
    Task ReleaseAsync();
}
