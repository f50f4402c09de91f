using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansKafka.Fetching;
using OrleansKafka.Kafka;
using OrleansKafka.Leasing;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Fetching;

[Trait("Category", "Kafka")]
public sealed class FetchWorkerTests
{
    [Fact]
    public async Task Assign_SamePartitionAgainAfterUnassign_NewFeedReceivesTheRecords()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        using var worker = new FetchWorker("test-worker", new Dictionary<string, string>
        {
            ["bootstrap.servers"] = kafka.BootstrapServers,
            ["group.id"] = "g",
            ["enable.auto.commit"] = "false",
        }, NullLogger.Instance);
        var partition = new TopicPartition("t", 0);

        var first = NewFeed(worker, partition, epoch: 1, start: 0);
        worker.Assign(first, 0);
        await ProduceAsync(producer, 5);
        Assert.True(await Poll.UntilAsync(() => first.BufferedCount == 5, TimeSpan.FromSeconds(10)), $"first feed got {first.BufferedCount} of 5");

        worker.Unassign(first);
        var second = NewFeed(worker, partition, epoch: 2, start: 5);
        worker.Assign(second, 5);
        await ProduceAsync(producer, 5);

        Assert.True(await Poll.UntilAsync(() => second.BufferedCount == 5, TimeSpan.FromSeconds(10)), $"the re-granted partition's feed got {second.BufferedCount} of 5 records");
    }

    private static PartitionFeed NewFeed(FetchWorker worker, TopicPartition partition, long epoch, long start) =>
        new(new LocalLease("g", partition, epoch, DateTimeOffset.MaxValue, TimeProvider.System), worker, start, null!, TimeProvider.System, NullLogger.Instance, 1 << 20, 1000);

    private static async Task ProduceAsync(IProducer<Null, string> producer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await producer.ProduceAsync(new TopicPartition("t", 0), new Message<Null, string> { Value = $"v{i}" });
        }
    }
}
