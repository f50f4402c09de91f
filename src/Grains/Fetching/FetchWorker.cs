using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// One Kafka consumer and the dedicated thread that polls it, serving any number of the silo's
/// partitions of one group. Partitions are added and removed with incremental assignment; the
/// group's coordinator is never involved, because the lease grain, not Kafka, decides ownership.
/// </summary>
internal sealed partial class FetchWorker : IDisposable
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private readonly ConcurrentDictionary<TopicPartition, PartitionFeed> _feeds = new();
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly string _name;
    private volatile bool _stopping;

    public FetchWorker(string name, IDictionary<string, string> settings, ILogger logger)
    {
        _name = name;
        _logger = logger;
        _consumer = new ConsumerBuilder<byte[], byte[]>(settings).WithLogging(logger, name).Build();
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public int PartitionCount => _feeds.Count;

    public void Assign(PartitionFeed feed, Offset start)
    {
        _feeds[feed.Partition] = feed;
        _consumer.IncrementalAssign([new TopicPartitionOffset(feed.Partition, start)]);
    }

    public void Unassign(PartitionFeed feed)
    {
        if (_feeds.TryRemove(new KeyValuePair<TopicPartition, PartitionFeed>(feed.Partition, feed)))
        {
            _consumer.IncrementalUnassign([feed.Partition]);
        }

        feed.Close();
    }

    public void Pause(TopicPartition partition) => _consumer.Pause([partition]);

    public void Resume(TopicPartition partition) => _consumer.Resume([partition]);

    /// <summary>The high watermark from the latest fetch response (no broker round trip); -1 when unknown.</summary>
    public long HighWatermark(TopicPartition partition)
    {
        var high = _consumer.GetWatermarkOffsets(partition).High;
        return high == Offset.Unset ? -1 : high.Value;
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        _consumer.Close();
        _consumer.Dispose();
    }

    private void Run()
    {
        PartitionFeed? last = null;
        var unsignalled = new List<PartitionFeed>();
        while (!_stopping)
        {
            try
            {
                // While records wait unsignalled, only peek: as soon as the consumer has nothing
                // ready, the pumps are woken with everything that arrived in this fetch.
                var result = _consumer.Consume(unsignalled.Count > 0 ? TimeSpan.Zero : PollTimeout);
                if (result is null || result.IsPartitionEOF)
                {
                    SignalAll(unsignalled);
                    last = null;
                    continue;
                }

                // Consecutive records mostly come from one partition: skip the lookup then. A closed
                // feed may have been replaced by a new one for the same partition (a re-grant).
                if (last is null || last.IsClosed || !last.Partition.Equals(result.TopicPartition))
                {
                    last = _feeds.GetValueOrDefault(result.TopicPartition);
                    if (last is not null && !unsignalled.Contains(last))
                    {
                        unsignalled.Add(last);
                    }
                }

                if (last is not null && last.Append(result))
                {
                    last.Signal();
                }
            }
            catch (ConsumeException ex)
            {
                SignalAll(unsignalled);
                last = null;
                LogConsumeFailed(_logger, ex, _name, ex.Error.Code.ToString());
            }
            catch (Exception ex) when (!_stopping)
            {
                SignalAll(unsignalled);
                last = null;
                LogConsumeFailed(_logger, ex, _name, "unexpected");
            }
        }
    }

    private static void SignalAll(List<PartitionFeed> feeds)
    {
        foreach (var feed in feeds)
        {
            feed.Signal();
        }

        feeds.Clear();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fetch worker {Worker} failed to consume ({Code}); polling on")]
    private static partial void LogConsumeFailed(ILogger logger, Exception exception, string worker, string code);
}
