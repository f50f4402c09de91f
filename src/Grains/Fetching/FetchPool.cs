using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;

namespace OrleansKafka.Fetching;

/// <summary>
/// The fetch workers of one consumer group on this silo: at most a fixed number, created as
/// partitions arrive, each leased partition placed on the least loaded one. Threads and
/// buffers therefore grow with the pool size, not with the number of partitions.
/// </summary>
internal sealed class FetchPool(
    string group,
    Func<int, IDictionary<string, string>> settings,
    int maxWorkers,
    IGrainFactory grains,
    TimeProvider time,
    ILoggerFactory loggers,
    int partitionBufferBytes,
    Func<string, DeliveryShape> deliveries,
    Orleans.Runtime.SiloAddress silo,
    HoldSignals holds,
    BufferBudget budget) : IDisposable
{
    private readonly List<FetchWorker> _workers = [];
    private readonly Lock _lock = new();
    private readonly ILogger _logger = loggers.CreateLogger<PartitionFeed>();
    private readonly ILogger _workerLogger = loggers.CreateLogger<FetchWorker>();

    /// <summary>Starts fetching a leased partition from <paramref name="start"/> and delivering it to its grain.</summary>
    public PartitionFeed Start(LocalLease lease, Offset start)
    {
        FetchWorker worker;
        lock (_lock)
        {
            worker = _workers.Count > 0 ? _workers.MinBy(w => w.PartitionCount)! : null!;
            if (worker is null || (worker.PartitionCount > 0 && _workers.Count < maxWorkers))
            {
                var index = _workers.Count;
                worker = new FetchWorker($"kafka-fetch-{group}-{index}", settings(index), _workerLogger, time, budget);
                _workers.Add(worker);
            }
        }

        var shape = deliveries(lease.Partition.Topic);
        var buffer = new PartitionBuffer(lease, worker, start.Value, partitionBufferBytes, DeliveryPump.FirstDeliverySizeFor(shape.MaxRecords), budget, shape.Whole, _logger);
        var feed = new PartitionFeed(lease, buffer, new DeliveryPump(lease, buffer, grains.GetGrain<IPartitionDeliveryGrain>(lease.GrainKey), holds, silo, shape.MaxRecords, time, _logger));
        try
        {
            worker.Assign(buffer, start);
        }
        catch
        {
            // Closes the buffer: its native memory and its place in the silo's budget go with it.
            worker.Unassign(buffer);
            throw;
        }

        feed.Start();
        return feed;
    }

    /// <summary>Stops fetching the partition and waits until its in-flight delivery has returned.</summary>
    public Task StopAsync(PartitionFeed feed)
    {
        feed.Worker.Unassign(feed.Buffer);
        return feed.Completion;
    }

    public int WorkerCount
    {
        get
        {
            lock (_lock)
            {
                return _workers.Count;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var worker in _workers)
            {
                worker.Dispose();
            }

            _workers.Clear();
        }
    }
}
