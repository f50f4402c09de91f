using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Bench;

/// <summary>Records produced at a steady rate carry their send time; the processor measures send-to-processed.</summary>
internal static class LatencyScenario
{
    private const string Topic = "latency";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        const int rate = 5000;
        var seconds = options.Seconds ?? 20;
        var partitions = options.Partitions ?? 12;
        using var kafka = EmbeddedKafkaCluster.Start(3);
        kafka.CreateTopic(Topic, partitions);
        var latencies = new LatencyRecorder(rate * seconds);
        using var host = await BenchSilo.StartAsync<LatencyProcessor>(kafka.BootstrapServers, Topic, "bench-latency", options.FetchConsumers ?? Configuration.KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(latencies));

        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 0 }).Build();
        var clock = Stopwatch.StartNew();
        var sent = 0;
        var total = rate * seconds;
        while (sent < total)
        {
            var due = (int)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < Math.Min(due, total); sent++)
            {
                producer.Produce(new TopicPartition(Topic, sent % partitions), new Message<byte[], byte[]> { Key = BitConverter.GetBytes(sent), Value = BitConverter.GetBytes(Stopwatch.GetTimestamp()) });
            }

            await Task.Delay(1);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (latencies.Count < total && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        // The first second includes connection set-up and partition acquisition; measure the steady state.
        var (p50, p99, max) = latencies.Percentiles(skip: rate);
        Report.Result("latency.records", latencies.Count);
        Report.Result("latency.p50_ms", p50);
        Report.Result("latency.p99_ms", p99);
        Report.Result("latency.max_ms", max);
        await host.StopAsync();
        return 0;
    }
}

internal sealed class LatencyRecorder(int capacity)
{
    private readonly double[] _ms = new double[capacity];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add(double ms)
    {
        var i = Interlocked.Increment(ref _count) - 1;
        if (i < _ms.Length)
        {
            _ms[i] = ms;
        }
    }

    public (double P50, double P99, double Max) Percentiles(int skip)
    {
        var sample = _ms.Take(Math.Min(Count, _ms.Length)).Skip(skip).Order().ToArray();
        return sample.Length == 0 ? (-1, -1, -1) : (sample[sample.Length / 2], sample[(int)(sample.Length * 0.99)], sample[^1]);
    }
}

internal sealed class LatencyProcessor(LatencyRecorder recorder) : IRecordProcessor<byte[], byte[]>
{
    public ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        var sent = BitConverter.ToInt64(record.Value);
        recorder.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
        return ValueTask.CompletedTask;
    }
}
