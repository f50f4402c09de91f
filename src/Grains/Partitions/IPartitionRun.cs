using Confluent.Kafka;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>How a partition grain runs a delivery's records: in offset order, or in key order.</summary>
internal interface IPartitionRun
{
    /// <summary>
    /// Runs <c>records[start..]</c> under <paramref name="lease"/>, records before the checkpoint's
    /// next offset already left out, and moves the checkpoint's next offset past what completed.
    /// </summary>
    Task<DeliveryOutcome> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int start, LocalLease lease);

    /// <summary>A new lease begins: forgets what the run kept of the last one.</summary>
    void Reset();
}
