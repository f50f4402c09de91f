using System.Diagnostics;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Fetching;
using OrleansKafka.Processing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench;

/// <summary>
/// <c>backlog</c>: one silo with default options owning 1,000 partitions that each have a backlog
/// of at least 1 MiB, behind a processor that awaits 1 ms per record. The embedded Kafka runs in a
/// process of its own, so the figures are the silo's: peak RSS, the most bytes its feeds held,
/// and that it keeps processing.
/// </summary>
internal static partial class BacklogScenario
{
    private const string Topic = "backlog";
    private const int ValueBytes = 1024;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var partitions = options.Partitions ?? 1000;
        var perPartition = (options.Records ?? partitions * 1100) / partitions;
        var seconds = options.Seconds ?? 20;
        await using var kafka = ChildProcess.Start("kafka", "dotnet", [SiloHostAssembly.Locate(), "kafka"], new Dictionary<string, string> { [$"Kafka__Embedded__Topics__{Topic}"] = $"{partitions}" });
        var bootstrap = (await kafka.WaitForOutputAsync(BootstrapLine(), TimeSpan.FromSeconds(30))).Groups[1].Value;
        Produce(bootstrap, partitions, perPartition);
        Report.Note($"backlog: {partitions} partitions × {perPartition} records of {ValueBytes} bytes ({partitions * (long)perPartition * ValueBytes / (1 << 20)} MiB) produced");

        var counter = new Counter();
        using var host = await BenchSilo.StartAsync<SlowProcessor>(bootstrap, Topic, "bench-backlog", KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(counter), consumerSettings: ConsumerOverrides());
        var budget = host.Services.GetRequiredService<BufferBudget>();
        var peakRss = 0.0;
        var peakHeap = 0L;
        var peakCommitted = 0L;
        var started = Stopwatch.GetTimestamp();
        var processedAtHalf = 0L;
        while (Stopwatch.GetElapsedTime(started).TotalSeconds < seconds)
        {
            peakRss = Math.Max(peakRss, Report.RssMb());
            peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
            peakCommitted = Math.Max(peakCommitted, GC.GetGCMemoryInfo().TotalCommittedBytes);
            if (processedAtHalf == 0 && Stopwatch.GetElapsedTime(started).TotalSeconds >= seconds / 2.0)
            {
                processedAtHalf = Math.Max(1, counter.Count);
            }

            await Task.Delay(100);
        }

        var processed = counter.Count;
        Report.Result("backlog.rss_mb", Math.Max(peakRss, Report.RssMb()));
        Report.Result("backlog.peak_buffered_mb", budget.PeakBytes / (1024.0 * 1024.0));
        Report.Result("backlog.peak_managed_heap_mb", peakHeap / (1024.0 * 1024.0));
        Report.Result("backlog.peak_gc_committed_mb", peakCommitted / (1024.0 * 1024.0));
        var live = GC.GetTotalMemory(forceFullCollection: true);
        Report.Result("backlog.live_managed_mb_at_end", live / (1024.0 * 1024.0));
        Report.Result("backlog.budget_mb", budget.MaxBytes / (1024.0 * 1024.0));
        Report.Result("backlog.processed", processed);
        Report.Result("backlog.processed_in_second_half", processed - processedAtHalf);
        Report.Result("backlog.threads", Report.Threads());
        await host.StopAsync();
        return 0;
    }

    /// <summary>For diagnosis: <c>BENCH_QUEUE_KB</c> (librdkafka's <c>queued.max.messages.kbytes</c>) and <c>BENCH_CONSUMER</c> (<c>key=value,...</c>) over the silo's consumer settings.</summary>
    private static Dictionary<string, string> ConsumerOverrides()
    {
        var settings = new Dictionary<string, string>();
        if (Environment.GetEnvironmentVariable("BENCH_QUEUE_KB") is { } kb)
        {
            settings["queued.max.messages.kbytes"] = kb;
        }

        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_CONSUMER") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            settings[pair[..pair.IndexOf('=')]] = pair[(pair.IndexOf('=') + 1)..];
        }

        return settings;
    }

    private static void Produce(string bootstrap, int partitions, int perPartition)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            CompressionType = CompressionType.Lz4,
            LingerMs = 20,
            BatchSize = 1_000_000,
            QueueBufferingMaxKbytes = 1_048_576,
        }).Build();

        // Compressible, so the Kafka process keeps the backlog in little memory; the silo sees the full bytes.
        var value = new byte[ValueBytes];
        Array.Fill(value, (byte)'v');
        for (var i = 0; i < perPartition; i++)
        {
            for (var p = 0; p < partitions; p++)
            {
                while (true)
                {
                    try
                    {
                        producer.Produce(new TopicPartition(Topic, p), new Message<byte[], byte[]> { Key = BitConverter.GetBytes(i), Value = value });
                        break;
                    }
                    catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10));
                    }
                }
            }
        }

        producer.Flush(TimeSpan.FromMinutes(5));
    }

    /// <summary>Awaits 1 ms per record: far slower than the fetch, so the backlog waits in the silo.</summary>
    private sealed class SlowProcessor(Counter counter) : IRecordProcessor<byte[], byte[]>
    {
        public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None);
            counter.Increment();
        }
    }

    [GeneratedRegex("bootstrap servers: ([^;]+);")]
    private static partial Regex BootstrapLine();
}
