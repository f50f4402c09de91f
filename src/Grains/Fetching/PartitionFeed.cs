using Confluent.Kafka;
using OrleansKafka.Leases;

namespace OrleansKafka.Fetching;

/// <summary>
/// One leased partition on its way from Kafka to its partition grain: the <see cref="PartitionBuffer"/>
/// its fetch worker fills and the <see cref="DeliveryPump"/> that empties it into the grain.
/// </summary>
internal sealed class PartitionFeed(LocalLease lease, PartitionBuffer buffer, DeliveryPump pump)
{
    public LocalLease Lease { get; } = lease;

    public PartitionBuffer Buffer { get; } = buffer;

    public DeliveryPump Pump { get; } = pump;

    public FetchWorker Worker => Buffer.Worker;

    public TopicPartition Partition => Lease.Partition;

    /// <summary>Completes when the pump has stopped and no delivery is in flight.</summary>
    public Task Completion => Pump.Completion;

    public void Start() => Pump.Start();

    /// <summary>Stops the feed: buffered records are dropped (the next owner fetches them again from the committed offset), and the pump ends.</summary>
    public void Close() => Buffer.Close();

    /// <summary>
    /// Copies the high watermark of the latest fetch response to the lease, for status: also while
    /// no record arrives, so an empty or caught-up partition shows Kafka's figure rather than none.
    /// </summary>
    public void ObserveHighWatermark()
    {
        if (Worker.HighWatermark(Partition) is var high and >= 0)
        {
            Lease.ObserveHighWatermark(high);
        }
    }
}
