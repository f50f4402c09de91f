using Orleans.Concurrency;

namespace OrleansKafka.Partitions;

/// <summary>The fetch path's side of a partition grain.</summary>
[Alias("OrleansKafka.IPartitionDeliveryGrain")]
internal interface IPartitionDeliveryGrain : IPartitionGrain
{
    /// <summary>
    /// Processes the records in offset order. Records below the next expected offset are
    /// skipped, so a delivery resent after a timeout is not processed twice.
    /// </summary>
    Task<DeliveryOutcome> DeliverAsync(Immutable<PartitionDelivery> delivery);
}
