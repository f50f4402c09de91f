using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Bench;

/// <summary>
/// Records produced at 5,000/s carry their send time; send-to-processed latency is measured
/// first for raw consumers (one per partition, on their own threads), then for the product.
/// </summary>
internal static class LatencyScenario
{
    private const int Rate = 5000;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var seconds = options.Seconds ?? 20;
        var partitions = options.Partitions ?? 12;
        using var kafka = EmbeddedKafkaCluster.Start(3);
        kafka.CreateTopic("latency-raw", partitions);
        kafka.CreateTopic("latency", partitions);

        var raw = new LatencyRecorder(Rate * seconds);
        using (var stop = new CancellationTokenSource())
        {
            var consumers = Enumerable.Range(0, partitions).Select(p => StartRawConsumer(kafka.BootstrapServers, p, raw, stop.Token)).ToArray();
            await ProduceAtRateAsync(kafka, "latency-raw", partitions, seconds, raw);
            await stop.CancelAsync();
            foreach (var consumer in consumers)
            {
                consumer.Join();
            }
        }

        var product = new LatencyRecorder(Rate * seconds);
        using var host = await BenchSilo.StartAsync<LatencyProcessor>(
            kafka.BootstrapServers, "latency", "bench-latency", options.FetchConsumers ?? Configuration.KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(product), Settings());
        await BenchSilo.WaitForOwnedAsync(host, "bench-latency", partitions);
        await ProduceAtRateAsync(kafka, "latency", partitions, seconds, product);
        await host.StopAsync();

        var (rawP50, rawP99, _) = raw.Percentiles();
        var (p50, p99, max) = product.Percentiles();
        Report.Result("latency.raw_p50_ms", rawP50);
        Report.Result("latency.raw_p99_ms", rawP99);
        Report.Result("latency.records", product.Count);
        Report.Result("latency.p50_ms", p50);
        Report.Result("latency.p99_ms", p99);
        Report.Result("latency.max_ms", max);
        Report.Result("latency.p99_ratio_to_raw", p99 / rawP99);
        return 0;
    }

    /// <summary>librdkafka's defaults, with the fetch wait the silo uses on the embedded cluster.</summary>
    private static Dictionary<string, string> Settings() => new()
    {
        ["fetch.wait.max.ms"] = Environment.GetEnvironmentVariable("BENCH_FETCH_WAIT_MS") ?? "5",
    };

    private static Thread StartRawConsumer(string bootstrap, int partition, LatencyRecorder recorder, CancellationToken stop)
    {
        var config = new ConsumerConfig(Settings()) { BootstrapServers = bootstrap, GroupId = "bench-latency-raw", EnableAutoCommit = false };
        var thread = new Thread(() =>
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
            consumer.Assign(new TopicPartitionOffset("latency-raw", partition, Offset.Beginning));
            while (!stop.IsCancellationRequested)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message.Value: { } value })
                {
                    recorder.Add(BitConverter.ToInt64(value));
                }
            }

            consumer.Close();
        });
        thread.Start();
        return thread;
    }

    private static async Task ProduceAtRateAsync(EmbeddedKafkaCluster kafka, string topic, int partitions, int seconds, LatencyRecorder recorder)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5 }).Build();
        // Three seconds of the same traffic first, unmeasured: connections, JIT and caches settle.
        const int warmupSeconds = 3;
        var clock = Stopwatch.StartNew();
        var total = Rate * (seconds + warmupSeconds);
        var measuring = false;
        var sent = 0;
        while (sent < total)
        {
            if (!measuring && clock.Elapsed.TotalSeconds >= warmupSeconds)
            {
                recorder.StartMeasuring();
                measuring = true;
            }

            var due = (int)(clock.Elapsed.TotalSeconds * Rate);
            for (; sent < Math.Min(due, total); sent++)
            {
                producer.Produce(new TopicPartition(topic, sent % partitions), new Message<byte[], byte[]> { Key = BitConverter.GetBytes(sent), Value = BitConverter.GetBytes(Stopwatch.GetTimestamp()) });
            }

            await Task.Delay(1);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (recorder.Arrived < total && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}

/// <summary>Latencies of records sent after the warm-up; every arrival is counted.</summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly double[] _ms = new double[capacity];
    private int _count;
    private int _arrived;
    private long _measureFrom = long.MaxValue;

    public int Count => Volatile.Read(ref _count);

    public int Arrived => Volatile.Read(ref _arrived);

    /// <summary>Records sent from now on are measured.</summary>
    public void StartMeasuring() => Volatile.Write(ref _measureFrom, Stopwatch.GetTimestamp());

    public void Add(long sentTimestamp)
    {
        Interlocked.Increment(ref _arrived);
        if (sentTimestamp < Volatile.Read(ref _measureFrom))
        {
            return;
        }

        var i = Interlocked.Increment(ref _count) - 1;
        if (i < _ms.Length)
        {
            _ms[i] = Stopwatch.GetElapsedTime(sentTimestamp).TotalMilliseconds;
        }
    }

    public (double P50, double P99, double Max) Percentiles()
    {
        var sample = _ms.Take(Math.Min(Count, _ms.Length)).Order().ToArray();
        return sample.Length == 0 ? (-1, -1, -1) : (sample[sample.Length / 2], sample[(int)(sample.Length * 0.99)], sample[^1]);
    }
}

internal sealed class LatencyProcessor(LatencyRecorder recorder) : IRecordProcessor<byte[], byte[]>
{
    public ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        recorder.Add(BitConverter.ToInt64(record.Value));
        return ValueTask.CompletedTask;
    }
}
