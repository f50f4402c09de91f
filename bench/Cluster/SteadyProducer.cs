using Confluent.Kafka;

namespace OrleansKafka.Bench.Cluster;

/// <summary>
/// Produces orders of 1,000 customers, the demo's own traffic, at a steady rate in 10 ms ticks
/// until disposed: the customers in turn, each always in the same partition (as Kafka's partitioner
/// keeps a key), so every partition gets its share in turn. (Until 2026-12-06 every record had a
/// key of its own, so the demo's customer-totals key grains activated one grain per record, with a
/// directory registration and a state read each, and the silos spent most of their time on that.)
/// </summary>
internal sealed class SteadyProducer : IAsyncDisposable
{
    private const int Customers = 1000;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public SteadyProducer(string bootstrapServers, string topic, int partitions, int recordsPerSecond)
    {
        var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 2 }).Build();
        _loop = Task.Run(() => RunAsync(producer, topic, partitions, Math.Max(1, recordsPerSecond / 100)));
    }

    private async Task RunAsync(IProducer<string, string> producer, string topic, int partitions, int perTick)
    {
        using (producer)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            long n = 0, skipped = 0;
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    for (var i = 0; i < perTick; i++, n++)
                    {
                        try
                        {
                            var customer = n % Customers;
                            var key = $"customer-{customer:D4}";
                            producer.Produce(new TopicPartition(topic, (int)(customer % partitions)), new Message<string, string> { Key = key, Value = "{\"orderId\":" + n + ",\"customer\":\"" + key + "\",\"amount\":1.5}" });
                        }
                        catch (ProduceException<string, string> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                        {
                            // The broker takes less than the rate for now: the rest of this tick is skipped, not fatal.
                            skipped += perTick - i;
                            break;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            // What is still queued is not waited for long: the run is over.
            producer.Flush(TimeSpan.FromSeconds(5));
            if (skipped > 0)
            {
                Report.Note($"the steady producer skipped {skipped} records while its queue was full (the broker took less than {perTick * 100} records/s)");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
