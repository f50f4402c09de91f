using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Kafka;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Processing;

/// <summary>
/// A processor with exactly-once state on an in-process cluster of two silos: its state moves with
/// the partition, and a new owner starts from the offset stored with the state, wherever Kafka's
/// committed offset says.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class StatefulProcessorTests
{
    private const string Group = "billing";
    private const string Topic = "orders";

    [Fact]
    public async Task TheStateMovesWithThePartition_AndCountsEachRecordOnce()
    {
        await using var cluster = await StartAsync();
        await ProduceAsync(cluster, from: 0, count: 40);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));
        Assert.All(await CountsAsync(cluster), c => Assert.Equal(40, c.Value.Count));

        await MoveAsync(cluster, partition: 0);
        await ProduceAsync(cluster, from: 40, count: 40);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));

        var counts = await CountsAsync(cluster);
        Assert.All(counts, c => Assert.Equal(80, c.Value.Count));
        Assert.All(counts, c => Assert.Equal(79, c.Value.Last));
    }

    [Fact]
    public async Task AStatefulProcessorRegisteredAsOneSharedInstance_StopsStartUp_NamingIt()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 4;
            o.Services = s => s.AddSingleton<StatefulCountingProcessor>();
            o.Processors = p => p.AddProcessor<StatefulCountingProcessor>("counter", x => { x.Topic = Topic; x.Group = Group; });
        }));

        Assert.Contains(ExceptionChain.Messages(failure), m => m.Contains("Kafka:Processors:counter: StatefulCountingProcessor keeps exactly-once state, but its registration hands out one shared instance", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASeekBack_OnASiloThatHasNotProcessedThePartitionYet_ReplaysTheRecordsIntoTheState()
    {
        await using var cluster = await StartAsync();
        await ProduceAsync(cluster, from: 0, count: 40);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));

        // After the move, the new owner has had no record of partition 3 to process when the seek comes.
        await MoveAsync(cluster, partition: 3);
        Assert.Equal(10, await cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 3)).SeekAsync(10));

        // Offsets 10-39 are processed again into the stored state: 40 + 30.
        Assert.True(
            await Poll.UntilAsync(async () => (await CountsAsync(cluster))[3].Count == 70, TimeSpan.FromSeconds(30)),
            $"partition 3 counted {(await CountsAsync(cluster))[3].Count}, expected 70 after the seek back to 10");
    }

    [Fact]
    public async Task ANewClusterStartsFromTheStoredOffsets_WhereverKafkasCommittedOffsetsWereMoved()
    {
        await using var redis = await RedisServer.StartAsync();
        using var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic(Topic, 4);
        var service = $"stateful-{Guid.NewGuid():N}";
        await using (var first = await StartAsync(kafka, redis, service))
        {
            await ProduceAsync(first, from: 0, count: 40);
            await first.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));
            await first.StopSilosAsync();
        }

        // With the cluster down, someone moves the group's offsets with Kafka tooling: partition 1
        // back to 0, partition 2 ahead to 50. The state stored with offset 40 decides where each starts.
        using (var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = Group }).Build())
        {
            consumer.Commit([new TopicPartitionOffset(Topic, 1, 0), new TopicPartitionOffset(Topic, 2, 50)]);
        }

        await using var second = await StartAsync(kafka, redis, service);
        await ProduceAsync(second, from: 40, count: 20);
        await second.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 60, [1] = 60, [2] = 60, [3] = 60 }, TimeSpan.FromSeconds(30));

        // Offsets 0-39 of partition 1 were not counted again; 40-49 of partition 2 were not skipped.
        var counts = await CountsAsync(second);
        Assert.All(counts, c => Assert.Equal(60, c.Value.Count));
        Assert.All(counts, c => Assert.Equal(59, c.Value.Last));
    }

    [Fact]
    public async Task AStoreThatLostItsCheckpoints_HoldsEachPartition_NamingTheStoreAndBothOffsets_UntilASeekRebuildsTheState()
    {
        using var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic(Topic, 4);
        var service = $"stateful-{Guid.NewGuid():N}";
        await using (var redis = await RedisServer.StartAsync())
        await using (var first = await StartAsync(kafka, redis, service))
        {
            await ProduceAsync(first, from: 0, count: 40);
            await first.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));
            await first.StopSilosAsync();
        }

        // Kafka's commit says a checkpoint was stored with the offset.
        using (var reader = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = Group }).Build())
        {
            var committed = OffsetsWithMetadata.Read(reader, [new TopicPartition(Topic, 1)], TimeSpan.FromSeconds(10)).Single();
            Assert.Equal(40, committed.Offset);
            Assert.Matches(@"^orleans-kafka/1 epoch=\d+ checkpoint=40$", committed.Metadata);
        }

        // The store comes back empty (a Redis without persistence, restarted).
        await using var empty = await RedisServer.StartAsync();
        await using var second = await StartAsync(kafka, empty, service);
        // Found at the first delivery of the lease: records come in.
        await ProduceAsync(second, from: 40, count: 5);
        var grain = second.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 1));
        var status = await grain.GetStatusAsync();
        Assert.True(
            await Poll.UntilAsync(async () => (status = await grain.GetStatusAsync()).State == PartitionState.Holding, TimeSpan.FromSeconds(30)),
            $"partition 1 is {status.State}: {status.LastError}");
        Assert.Equal(40, status.HeldOffset);
        Assert.Contains("the grain storage 'orleans-kafka' has no checkpoint of the processor's state, but Kafka's committed offset 40 says one was stored at offset 40", status.LastError, StringComparison.Ordinal);

        // Nothing was counted into fresh state, nor committed; a seek to the beginning rebuilds the state from the records.
        Assert.Equal(40, (await second.CommittedOffsetsAsync(Group, Topic))[1]);
        Assert.Equal(0, await grain.SeekAsync(PartitionSeek.Beginning));
        Assert.True(
            await Poll.UntilAsync(async () => (await CountsAsync(second, partitions: [1]))[1].Count == 45, TimeSpan.FromSeconds(30)),
            $"partition 1 counted {(await CountsAsync(second, partitions: [1]))[1].Count}, expected 45 rebuilt from the records");
    }

    /// <summary>A one-silo cluster on <paramref name="kafka"/> that keeps its grain state in <paramref name="redis"/> under <paramref name="service"/>.</summary>
    private static Task<KafkaTestCluster> StartAsync(EmbeddedKafkaCluster kafka, RedisServer redis, string service) =>
        KafkaTestCluster.StartAsync(
            o =>
            {
                o.Topics[Topic] = 4;
                o.ServiceId = service;
                o.Services = s => s.AddRedisGrainStorage(KafkaStorage.Name, r => r.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.ConnectionString));
                o.Processors = p => p.AddProcessor<StatefulCountingProcessor>("counter", x => { x.Topic = Topic; x.Group = Group; });
            },
            kafka);

    private static Task<KafkaTestCluster> StartAsync() =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 2;
            o.Topics[Topic] = 4;
            o.Processors = p => p.AddProcessor<StatefulCountingProcessor>("counter", x => { x.Topic = Topic; x.Group = Group; });
        });

    private static Task ProduceAsync(KafkaTestCluster cluster, int from, int count) =>
        Task.WhenAll(Enumerable.Range(0, 4).Select(p =>
            cluster.ProduceAsync(Topic, Enumerable.Range(from, count).Select(i => ((string?)$"k{i}", (string?)$"{i}")), p)));

    private static async Task<Dictionary<int, RecordCount>> CountsAsync(KafkaTestCluster cluster, int[]? partitions = null)
    {
        partitions ??= [0, 1, 2, 3];
        Dictionary<int, RecordCount> counts = [];
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    var statuses = await cluster.Client.GetPartitionStatusesAsync(Group);
                    counts = statuses.Where(s => s.ProcessorState is not null && partitions.Contains(s.Partition))
                        .ToDictionary(s => s.Partition, s => s.ProcessorState!.Value.Deserialize<RecordCount>(JsonSerializerOptions.Web)!);
                    return counts.Count == partitions.Length;
                },
                TimeSpan.FromSeconds(10)),
            $"the state of {counts.Count} of {partitions.Length} partitions is shown");
        return counts;
    }

    /// <summary>Moves a partition to the other silo and waits until its new owner holds it.</summary>
    private static async Task MoveAsync(KafkaTestCluster cluster, int partition)
    {
        var grain = cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, partition));
        var from = (await grain.GetStatusAsync()).Silo;
        var to = cluster.Cluster.Silos.Select(s => SiloIdentity.Of(s.SiloAddress)).Single(s => s != from);
        await grain.MoveAsync(to);
        Assert.True(
            await Poll.UntilAsync(async () => await grain.GetStatusAsync() is { Silo: var silo, State: not PartitionState.NotOwner } && silo == to, TimeSpan.FromSeconds(30)),
            $"partition {partition} did not move from {from} to {to}");
    }
}
