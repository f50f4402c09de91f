using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Kafka;

namespace OrleansKafka.Bench;

/// <summary>
/// Produces N records to 12 partitions, then consumes them three ways in one run: one raw
/// consumer on all partitions, one raw consumer per partition on its own thread, and the product
/// with a no-op processor from offset 0 until every offset is committed.
/// </summary>
internal static class ThroughputScenario
{
    private const string Topic = "bench";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var records = options.Records ?? 1_000_000;
        var partitions = options.Partitions ?? 12;
        var fetchConsumers = options.FetchConsumers ?? partitions;
        using var kafka = EmbeddedKafkaCluster.Start(3);
        kafka.CreateTopic(Topic, partitions);
        Report.Note($"producing {records} records to {partitions} partitions on {kafka.BootstrapServers}");
        BenchKafka.Produce(kafka, Topic, partitions, records);
        var high = BenchSilo.HighWatermarks(kafka.BootstrapServers, Topic, partitions);
        if (high.Sum() != records)
        {
            Report.Note($"the embedded cluster holds {high.Sum()} of {records} records; use fewer records");
            return 1;
        }

        var productOnly = Environment.GetEnvironmentVariable("BENCH_PRODUCT_ONLY") == "1";
        var single = productOnly ? 1 : RawSingleConsumer(kafka.BootstrapServers, partitions, records);
        var perPartition = productOnly ? 1 : RawConsumerPerPartition(kafka.BootstrapServers, partitions, high);
        var product = await ProductAsync(kafka.BootstrapServers, partitions, fetchConsumers, high, records);

        Report.Result("throughput.ratio", product / Math.Max(single, perPartition));
        Report.Result("throughput.peak_rss_mb", Report.PeakRssMb());
        return 0;
    }

    private static double RawSingleConsumer(string bootstrap, int partitions, int records)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(BenchKafka.ConsumerConfig(bootstrap, "bench-raw-single")).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)));
        var measure = new Measure();
        var seen = 0;
        while (seen < records)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { IsPartitionEOF: false })
            {
                seen++;
            }
        }

        var rate = records / measure.Elapsed.TotalSeconds;
        measure.Stop("raw_single_consumer", records);
        consumer.Close();
        return rate;
    }

    private static double RawConsumerPerPartition(string bootstrap, int partitions, long[] high)
    {
        var consumers = Enumerable.Range(0, partitions).Select(p =>
        {
            var consumer = new ConsumerBuilder<byte[], byte[]>(BenchKafka.ConsumerConfig(bootstrap, "bench-raw-per-partition")).Build();
            consumer.Assign(new TopicPartitionOffset(Topic, p, Offset.Beginning));
            return consumer;
        }).ToArray();
        var peakThreads = 0;
        var measure = new Measure();
        var threads = consumers.Select((consumer, p) => new Thread(() =>
        {
            long seen = 0;
            while (seen < high[p])
            {
                if (consumer.Consume(TimeSpan.FromSeconds(1)) is { IsPartitionEOF: false })
                {
                    seen++;
                }
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        peakThreads = Report.Threads();
        foreach (var thread in threads)
        {
            thread.Join();
        }

        var records = high.Sum();
        var rate = records / measure.Elapsed.TotalSeconds;
        measure.Stop("raw_consumer_per_partition", records);
        Report.Result("raw_consumer_per_partition.threads", peakThreads);
        foreach (var consumer in consumers)
        {
            consumer.Close();
            consumer.Dispose();
        }

        return rate;
    }

    private static async Task<double> ProductAsync(string bootstrap, int partitions, int fetchConsumers, long[] high, int records)
    {
        var counter = new Counter();
        var measure = new Measure();
        using var host = await BenchSilo.StartAsync<NoopProcessor>(bootstrap, Topic, "bench-product", fetchConsumers, s => s.AddSingleton(counter));
        var threads = 0;
        var sampler = Task.Run(async () =>
        {
            while (counter.Count < records)
            {
                threads = Math.Max(threads, Report.Threads());
                await Task.Delay(100);
            }
        });
        await BenchSilo.WaitForCommittedAsync(bootstrap, Topic, "bench-product", partitions, high, TimeSpan.FromMinutes(5));
        // The silo's own start (about a second) is reported apart: the ratio compares consumption,
        // from the first record processed to the last offset committed.
        var consuming = counter.FromFirst!;
        var rate = records / consuming.Elapsed.TotalSeconds;
        Report.Result("product.start_to_committed_s", measure.Elapsed.TotalSeconds);
        consuming.Stop("product", records);
        await sampler;
        Report.Result("product.threads", threads);
        Report.Result("product.fetch_consumers", fetchConsumers);
        if (counter.Count != records)
        {
            Report.Note($"the processor saw {counter.Count} records, expected {records}");
        }

        await host.StopAsync();
        return rate;
    }
}
