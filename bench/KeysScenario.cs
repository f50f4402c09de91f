using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Bench;

/// <summary>
/// <c>keys</c>: one partition, 1,000 keys, a processor that awaits 2 ms per record (a call to
/// another service). Records/s with the partition processed serially (the default order) and by
/// key (<see cref="ProcessingOrder.Key"/>, default <see cref="ProcessorOptions.MaxInFlight"/>);
/// <c>keys.speedup</c> is their ratio.
/// </summary>
internal static class KeysScenario
{
    private const int Keys = 1000;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        using var kafka = EmbeddedKafkaCluster.Start(3);
        var serial = await RateAsync(kafka, ProcessingOrder.Partition, options.Records is { } n ? Math.Max(n / 20, 200) : 1_000);
        var keyed = await RateAsync(kafka, ProcessingOrder.Key, options.Records ?? 20_000);
        Report.Result("keys.serial_records_per_s", serial);
        Report.Result("keys.key_records_per_s", keyed);
        Report.Result("keys.speedup", keyed / serial);
        return 0;
    }

    private static async Task<double> RateAsync(EmbeddedKafkaCluster kafka, ProcessingOrder order, int records)
    {
        var topic = $"keys-{order}".ToLowerInvariant();
        kafka.CreateTopic(topic, 1);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < records; i++)
            {
                producer.Produce(new TopicPartition(topic, 0), new Message<string, string> { Key = $"key-{i % Keys}", Value = $"{i / Keys}" });
            }

            producer.Flush(TimeSpan.FromMinutes(1));
        }

        var clock = new AwaitClock();
        using var host = await BenchSilo.StartAsync<AwaitingProcessor>(kafka.BootstrapServers, topic, $"bench-{topic}", KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(clock), processor: p => p.Order = order);
        var deadline = Stopwatch.GetTimestamp() + (long)(TimeSpan.FromMinutes(5).TotalSeconds * Stopwatch.Frequency);
        while (clock.Count < records && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }

        await host.StopAsync();
        var rate = (clock.Count - 1) / Stopwatch.GetElapsedTime(clock.FirstAt, clock.LastAt).TotalSeconds;
        Report.Note($"{order}: {clock.Count} records at {rate:0} records/s");
        return rate;
    }

    /// <summary>Awaits 2 ms per record, like a call to another service, and times the run.</summary>
    private sealed class AwaitingProcessor(AwaitClock clock) : IRecordProcessor<byte[], byte[]>
    {
        public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2), CancellationToken.None);
            clock.Done();
        }
    }
}
