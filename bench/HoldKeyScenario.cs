using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Bench;

/// <summary>
/// <c>holdkey</c>: one partition, 1,000 keys, a processor that awaits 2 ms per record, key order
/// with <see cref="FailureAction.HoldKey"/>; once with no failing key, once with <c>key-0</c>
/// failing on every record. <c>holdkey.ratio</c>: the other keys' records/s with the failing key
/// against all keys' without it (goal: at least 0.9).
/// </summary>
internal static class HoldKeyScenario
{
    private const int Keys = 1000;
    private const string FailingKey = "key-0";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var records = options.Records ?? 50_000;
        using var kafka = EmbeddedKafkaCluster.Start(3);
        var clean = await RateAsync(kafka, "holdkey-clean", records, failing: null);
        var held = await RateAsync(kafka, "holdkey-failing", records, failing: FailingKey);
        Report.Result("holdkey.clean_records_per_s", clean);
        Report.Result("holdkey.other_keys_records_per_s", held);
        Report.Result("holdkey.ratio", held / clean);
        return 0;
    }

    private static async Task<double> RateAsync(EmbeddedKafkaCluster kafka, string topic, int records, string? failing)
    {
        kafka.CreateTopic(topic, 1);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < records; i++)
            {
                producer.Produce(new TopicPartition(topic, 0), new Message<string, string> { Key = $"key-{i % Keys}", Value = $"{i / Keys}" });
            }

            producer.Flush(TimeSpan.FromMinutes(1));
        }

        var clock = new Clock(failing);
        var expected = failing is null ? records : records - ((records + Keys - 1) / Keys);
        using var host = await BenchSilo.StartAsync<AwaitingProcessor>(
            kafka.BootstrapServers, topic, $"bench-{topic}", KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(clock),
            processor: p => { p.Order = ProcessingOrder.Key; p.OnFailure = FailureAction.HoldKey; });
        var deadline = Stopwatch.GetTimestamp() + (long)(TimeSpan.FromMinutes(5).TotalSeconds * Stopwatch.Frequency);
        while (clock.Count < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }

        await host.StopAsync();
        var elapsed = Stopwatch.GetElapsedTime(clock.FirstAt, clock.LastAt).TotalSeconds;
        var rate = (clock.Count - 1) / elapsed;
        Report.Note($"{topic}: {clock.Count} of {expected} records of the other keys in {elapsed:0.00} s, {rate:0} records/s; {clock.Failures} failed runs of {failing ?? "no key"}");
        return rate;
    }

    /// <summary>Awaits 2 ms per record, like a call to another service; fails on every record of the failing key.</summary>
    private sealed class AwaitingProcessor(Clock clock) : IRecordProcessor<byte[], byte[]>
    {
        public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2), CancellationToken.None);
            if (clock.Fails(record.Key))
            {
                throw new InvalidOperationException("this key fails for good");
            }

            clock.Done();
        }
    }

    /// <summary>The run's count and times, and which key fails.</summary>
    private sealed class Clock(string? failing)
    {
        private readonly byte[]? _failing = failing is null ? null : Encoding.UTF8.GetBytes(failing);
        private readonly AwaitClock _done = new();
        private long _failures;

        public long Count => _done.Count;

        public long Failures => Interlocked.Read(ref _failures);

        public long FirstAt => _done.FirstAt;

        public long LastAt => _done.LastAt;

        public bool Fails(byte[]? key)
        {
            if (_failing is null || key is null || !key.AsSpan().SequenceEqual(_failing))
            {
                return false;
            }

            Interlocked.Increment(ref _failures);
            return true;
        }

        public void Done() => _done.Done();
    }
}
