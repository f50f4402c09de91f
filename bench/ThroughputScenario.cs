using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansKafka.Kafka;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;

namespace OrleansKafka.Bench;

/// <summary>
/// Produces N records to 12 partitions, then consumes them three ways in one run: one raw
/// consumer on all partitions, one raw consumer per partition on its own thread, and the product
/// with a no-op processor from offset 0 until it has processed every record (then it waits for
/// every offset to be committed, and reports that time apart). With <c>--silos N</c>
/// the product runs as a cluster of N silos in this process, which split the partitions: they
/// start with every offset committed at the end, and once the partitions are spread over all of
/// them, every partition is sent back to its beginning with the operators' seek.
/// </summary>
internal static class ThroughputScenario
{
    private const string Topic = "bench";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var records = options.Records ?? 1_000_000;
        var partitions = options.Partitions ?? 12;
        var silos = options.Silos ?? 1;
        // The product runs with its defaults, what users get, unless --tuned gives it the raw
        // patterns' fetch settings and a fetch consumer per partition (the figures before 2026-11-30).
        var fetchConsumers = options.FetchConsumers ?? (options.Tuned ? (partitions + silos - 1) / silos : Configuration.KafkaProcessingOptions.DefaultFetchConsumers);
        IReadOnlyDictionary<string, string>? consumerSettings = options.Tuned ? BenchKafka.FetchSettings : null;
        Report.Note(options.Tuned ? $"product: tuned, {fetchConsumers} fetch consumers per silo, the raw patterns' fetch settings" : $"product: default options ({fetchConsumers} fetch consumers per silo)");
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
        var c = productOnly ? null : await CClient.ConsumeAllAsync(kafka.BootstrapServers, Topic, partitions, records);
        var product = await ProductAsync(kafka.BootstrapServers, partitions, silos, fetchConsumers, consumerSettings, high, records);

        Report.Result("throughput.ratio", product / Math.Max(single, perPartition));
        if (c is { } limit)
        {
            Report.Result("throughput.ratio_to_c", product / limit);
        }

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

    private static async Task<double> ProductAsync(string bootstrap, int partitions, int silos, int fetchConsumers, IReadOnlyDictionary<string, string>? consumerSettings, long[] high, int records)
    {
        const string group = "bench-product";
        var counter = new Counter();
        var measure = new Measure();
        if (silos > 1)
        {
            // Nothing to do until the partitions are spread: the first silo up would otherwise
            // process most records alone while the others join.
            BenchSilo.Commit(bootstrap, Topic, group, high);
        }

        Task<IHost> Start(int index) => BenchSilo.StartAsync<NoopProcessor>(bootstrap, Topic, group, fetchConsumers, s => s.AddSingleton(counter), consumerSettings, index: index);

        // All at once, as a deployment starts them: the others join the primary (index 0) as soon as it is up.
        var hosts = (await Task.WhenAll(Enumerable.Range(0, silos).Select(Start))).ToList();
        int[] Held() => [.. hosts.Select(h => h.Services.GetRequiredService<Leases.LeaseTable>().OfGroup(group).Count())];
        var threads = 0;
        var sampler = Task.Run(async () =>
        {
            while (counter.Count < records)
            {
                threads = Math.Max(threads, Report.Threads());
                await Task.Delay(100);
            }
        });

        // From the first record processed (the silos' start is reported apart). Several silos: once
        // the partitions are spread over all of them, each partition is sent back to its beginning.
        if (silos > 1)
        {
            var balanced = await Poll.UntilAsync(() => Held() is var held && held.Sum() == partitions && held.Max() - held.Min() <= 1, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(5));
            Report.Result("product.balanced_after_start_s", measure.Elapsed.TotalSeconds);
            Report.Note($"partitions spread over the {silos} silos ({string.Join(", ", Held())}){(balanced ? "" : " NOT evenly")}; every partition seeks to its beginning, and the rate counts all {records} records from the first one processed");
            var grains = hosts[0].Services.GetRequiredService<IGrainFactory>();
            await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => SeekToBeginningAsync(grains.GetPartitionGrain(group, Topic, p))));
        }

        await Poll.UntilAsync(() => counter.FromFirst is not null, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(5));
        var consuming = counter.FromFirst!;
        long measured = records;

        // To the last record processed, as the raw patterns stop at the last record consumed; the
        // commit that follows (the product commits every CommitInterval) is reported apart.
        await Poll.UntilAsync(() => counter.ReachedAll(high), TimeSpan.FromMinutes(5), TimeSpan.FromMilliseconds(1));
        var rate = measured / consuming.Elapsed.TotalSeconds;
        consuming.Stop("product", measured);
        var processedAt = measure.Elapsed;
        await BenchSilo.WaitForCommittedAsync(bootstrap, Topic, group, partitions, high, TimeSpan.FromMinutes(5));
        Report.Result("product.start_to_processed_s", processedAt.TotalSeconds);
        Report.Result("product.processed_to_committed_s", (measure.Elapsed - processedAt).TotalSeconds);
        await sampler;
        Report.Result("product.threads", threads);
        Report.Result("product.fetch_consumers", fetchConsumers);
        Report.Result("product.silos", silos);
        if (counter.Count != records)
        {
            Report.Note($"the processor saw {counter.Count} records, expected {records}");
        }

        // The primary last: it holds the cluster's membership table.
        foreach (var host in Enumerable.Reverse(hosts))
        {
            await host.StopAsync();
            host.Dispose();
        }

        return rate;
    }

    /// <summary>Seeks a partition to its beginning, trying again while its lease is moving.</summary>
    private static async Task SeekToBeginningAsync(IPartitionGrain partition)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await partition.SeekAsync(PartitionSeek.Beginning);
                return;
            }
            catch (InvalidOperationException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }
}
