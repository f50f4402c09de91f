using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Bench;

/// <summary>
/// <c>streams</c>: 12 partitions, 1,000,000 records of 1,000 keys, one silo with default options:
/// records/s through the Kafka stream provider to a no-op implicitly subscribed grain, against the
/// no-op plain processor in the same run (<c>streams.ratio_to_processor</c>), with CPU µs and
/// bytes allocated per record.
/// </summary>
internal static class StreamsScenario
{
    public const string Namespace = "bench-streams";
    private const int Keys = 1000;
    private const int Partitions = 12;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        using var kafka = EmbeddedKafkaCluster.Start(3);
        var records = options.Records ?? 1_000_000;
        var plain = await RunAsync(kafka, "plain", records, streams: false);
        var streamed = await RunAsync(kafka, "stream", records, streams: true);
        Report.Result("streams.ratio_to_processor", streamed / plain);
        return 0;
    }

    private static async Task<double> RunAsync(EmbeddedKafkaCluster kafka, string name, int records, bool streams)
    {
        var topic = streams ? Namespace : "bench-streams-plain";
        kafka.CreateTopic(topic, Partitions);
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5, CompressionType = CompressionType.Lz4 }).Build())
        {
            var value = new byte[100];
            for (var i = 0; i < records; i++)
            {
                BenchKafka.ProduceOrWait(producer, new TopicPartition(topic, i % Partitions), new Message<string, byte[]> { Key = $"key-{i % Keys}", Value = value });
            }

            producer.Flush(TimeSpan.FromMinutes(2));
        }

        var counter = new Counter();
        using var host = streams
            ? await BenchSilo.StartStreamsAsync(kafka.BootstrapServers, topic, "bench-streams", s => s.AddSingleton(counter))
            : await BenchSilo.StartAsync<NoopProcessor>(kafka.BootstrapServers, topic, "bench-streams-plain", KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(counter));
        var deadline = Stopwatch.GetTimestamp() + (long)(TimeSpan.FromMinutes(10).TotalSeconds * Stopwatch.Frequency);
        while (counter.Count < records && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }

        var elapsed = Stopwatch.GetElapsedTime(counter.FirstAt);
        counter.FromFirst?.Stop($"streams.{name}", counter.Count);
        await host.StopAsync();
        var rate = counter.Count / elapsed.TotalSeconds;
        Report.Note($"{name}: {counter.Count} of {records} records at {rate:0} records/s");
        return rate;
    }

    /// <summary>A no-op implicit subscriber of the benchmark namespace.</summary>
    [ImplicitStreamSubscription(Namespace)]
    internal sealed class NoopSubscriberGrain(Counter counter) : Grain, INoopSubscriberGrain
    {
        public override Task OnActivateAsync(CancellationToken cancellationToken) =>
            this.GetStreamProvider("kafka").GetStream<KeyedRecord<byte[]>>(StreamId.Create(Namespace, this.GetPrimaryKeyString()))
                .SubscribeAsync((_, _) =>
                {
                    counter.Increment();
                    return Task.CompletedTask;
                });
    }
}

public interface INoopSubscriberGrain : IGrainWithStringKey;
