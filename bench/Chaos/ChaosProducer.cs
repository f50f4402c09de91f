using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;

namespace OrleansKafka.Bench.Chaos;

/// <summary>
/// Produces a fixed number of keyed records at a steady rate, in 10 ms ticks, and keeps where
/// each confirmed one landed. Key <c>k&lt;i&gt;</c> always goes to partition <c>i % partitions</c>,
/// its value is the key's own sequence number, so every partition sees the same few keys.
/// </summary>
internal sealed class ChaosProducer : IAsyncDisposable
{
    private const int MaxFailureExamples = 5;

    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(int Partition, long Offset)> _delivered = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly Task _loop;
    private int _failed;
    private volatile bool _flushed;

    public ChaosProducer(string bootstrapServers, string topic, int partitions, int keysPerPartition, int records, double recordsPerSecond)
    {
        var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 2 }).Build();
        _loop = Task.Run(() => RunAsync(producer, topic, partitions, partitions * keysPerPartition, records, recordsPerSecond));
    }

    /// <summary>Completes once every record has been produced and its delivery report received (or given up on).</summary>
    public Task Completion => _loop;

    /// <summary>Where each record the broker confirmed landed.</summary>
    public IReadOnlyCollection<(int Partition, long Offset)> Delivered => _delivered;

    /// <summary>Records handed to the producer that were not confirmed: a failed delivery, a refused produce call, or no report in time.</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>The first few reasons for <see cref="Failed"/>.</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    /// <summary>When the first record was produced, in <see cref="Stopwatch.GetTimestamp"/> ticks; valid after <see cref="Completion"/>.</summary>
    public long FirstAt { get; private set; }

    /// <summary>When the last record was produced, in <see cref="Stopwatch.GetTimestamp"/> ticks; valid after <see cref="Completion"/>.</summary>
    public long LastAt { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();

        // Its failure, if any, surfaced through Completion already.
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task RunAsync(IProducer<string, string> producer, string topic, int partitions, int keys, int records, double recordsPerSecond)
    {
        using (producer)
        {
            var sequences = new long[keys];
            var produced = 0;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            var started = Stopwatch.GetTimestamp();
            try
            {
                while (produced < records && await timer.WaitForNextTickAsync(_stop.Token))
                {
                    // Due by the clock rather than a fixed count per tick: late ticks catch up and fractional rates work out.
                    var due = (int)Math.Min(records, Stopwatch.GetElapsedTime(started).TotalSeconds * recordsPerSecond);
                    for (; produced < due; produced++)
                    {
                        var key = produced % keys;
                        var message = new Message<string, string>
                        {
                            Key = "k" + key.ToString(CultureInfo.InvariantCulture),
                            Value = sequences[key]++.ToString(CultureInfo.InvariantCulture),
                        };
                        var now = Stopwatch.GetTimestamp();
                        if (produced == 0)
                        {
                            FirstAt = now;
                        }

                        LastAt = now;
                        try
                        {
                            producer.Produce(new TopicPartition(topic, key % partitions), message, OnDelivery);
                        }
                        catch (KafkaException e)
                        {
                            Fail($"produce refused: {e.Error.Reason}");
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }

            // Wait for the delivery reports of what is still in flight; what gets none is not counted as produced.
            var unconfirmed = producer.Flush(TimeSpan.FromSeconds(30));

            // Disposing the producer may still report the unconfirmed ones as purged: counted here already.
            _flushed = true;
            for (var i = 0; i < unconfirmed; i++)
            {
                Fail("no delivery report within 30 s");
            }
        }
    }

    private void OnDelivery(DeliveryReport<string, string> report)
    {
        if (_flushed)
        {
            return;
        }

        if (report.Error.IsError)
        {
            Fail($"delivery to partition {report.Partition.Value} failed: {report.Error.Reason}");
        }
        else
        {
            _delivered.Enqueue((report.Partition.Value, report.Offset.Value));
        }
    }

    private void Fail(string reason)
    {
        if (Interlocked.Increment(ref _failed) <= MaxFailureExamples)
        {
            _failures.Enqueue(reason);
        }
    }
}
