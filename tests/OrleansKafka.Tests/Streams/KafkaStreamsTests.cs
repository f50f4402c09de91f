using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Streams;

/// <summary>
/// The Kafka stream provider on an in-process cluster of two silos: a topic is a stream namespace,
/// a record goes to the implicitly subscribed grain of its key, in offset order per stream, and the
/// offset is committed only once the subscriber's OnNextAsync completed.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class KafkaStreamsTests
{
    private const string Topic = StreamRecorderGrain.Namespace;
    private const string Group = "streams";

    [Fact]
    public async Task EachStreamInOffsetOrder_TheStreamsOfAPartitionAtOnce_OnBothSilos()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate);

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 200).Select(i => ((string?)$"stream-{i % 20}", (string?)$"{i}")), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

        for (var k = 0; k < 20; k++)
        {
            Assert.Equal(Enumerable.Range(0, 10).Select(n => (long)(k + (20 * n))), log.OffsetsOf($"stream-{k}"));
        }

        Assert.True(log.MaxConcurrent > 1, "the streams of the partition never ran at the same time");
        Assert.True(log.Silos.Count == 2, $"the subscribers ran on {string.Join(", ", log.Silos.Keys)} only");
    }

    [Fact]
    public async Task ASubscriberStillRunning_HoldsTheCommit_WhileOtherStreamsComplete()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate);

        List<(string?, string?)> records = [("slow", KeyGate.Value), .. Enumerable.Range(1, 20).Select(i => ((string?)$"stream-{i}", (string?)$"{i}"))];
        await cluster.ProduceAsync(Topic, records, partition: 0);
        Assert.True(await Poll.UntilAsync(() => log.Count == 20, TimeSpan.FromSeconds(30)), $"{log.Count} of the 20 later records completed");
        Assert.True((await cluster.CommittedOffsetsAsync(Group, Topic)).GetValueOrDefault(0, -1) <= 0, "committed past a record whose subscriber had not completed");

        gate.Opened.SetResult();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 21 }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ASubscriberStillRunning_WhenThePartitionsSiloIsKilled_GetsTheRecordAgainFromTheNewOwner()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate);
        await cluster.ProduceAsync(Topic, [("slow", KeyGate.Value), ("other", "1")], partition: 0);
        Assert.True(await Poll.UntilAsync(() => gate.Entered == 1 && log.Count == 1, TimeSpan.FromSeconds(30)), "the gated record never reached its subscriber");

        var partition = cluster.Client.GetGrain<OrleansKafka.Partitions.IPartitionGrain>(OrleansKafka.Partitions.PartitionGrainKey.Format(Group, Topic, 0));
        var owner = (await partition.GetStatusAsync()).Silo;
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos.Single(s => OrleansKafka.LeaseProtocol.SiloIdentity.Of(s.SiloAddress) == owner));
        Assert.True((await cluster.CommittedOffsetsAsync(Group, Topic))[0] <= 0, "committed past the record whose subscriber had not completed");

        // The survivor takes the partition over from the committed offset, 0, and sends the record
        // again: to a new activation if its subscriber died with the silo, or queued behind the
        // first delivery on the live one.
        gate.Opened.SetResult();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 2 }, TimeSpan.FromSeconds(60));
        Assert.True(gate.Entered >= 2, $"the gated record began {gate.Entered} time(s): the new owner did not deliver it again");
    }

    [Fact]
    public async Task ASubscriberThatThrows_FollowsTheFailurePolicy_AndTheStreamGoesOn()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate, o => { o.MaxAttempts = 2; o.OnFailure = FailureAction.DeadLetter; });

        await cluster.ProduceAsync(Topic, [("s", "0"), ("s", "poison"), ("s", "2")], partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));

        Assert.Equal([0L, 2L], log.OffsetsOf("s"));
        var dead = await cluster.Inspector.ReadAllAsync($"{Topic}.dlq");
        var record = Assert.Single(dead);
        Assert.Equal("poison", Encoding.UTF8.GetString(record.Message.Value!));
        Assert.Equal("2", Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes("x-dlq-attempts")));
    }

    [Fact]
    public async Task OnNextAsyncOnAStream_ProducesToTheTopicWithTheStreamKey_AsKcatReadsIt()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate);

        await cluster.Client.GetGrain<IStreamPublisherGrain>(0).PublishAsync("published", "customer-7", "hello from a grain");

        using var kcat = Process.Start(new ProcessStartInfo("kcat", ["-C", "-b", cluster.Kafka.BootstrapServers, "-t", "published", "-e", "-q", "-f", "%k=%s\\n"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var output = await kcat.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("customer-7=hello from a grain", output);
    }

    [Fact]
    public async Task AStreamDeliverySentUnderAnOlderEpoch_IsRefusedBeforeTheSubscriberSeesIt()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate);
        var delivery = cluster.Client.GetGrain<IStreamRecorderGrain>("fenced").AsReference<OrleansKafka.Streams.IKafkaStreamDelivery>();

        // The silos hold real leases of the topic's partitions meanwhile (epochs from the wall
        // clock, far above these); the records below are of a partition the topic lacks.
        var owned = cluster.Client.GetGrain<OrleansKafka.Partitions.IPartitionGrain>(OrleansKafka.Partitions.PartitionGrainKey.Format(Group, Topic, 0));
        Assert.True(await Poll.UntilAsync(async () => (await owned.GetStatusAsync()).State != OrleansKafka.Partitions.PartitionState.NotOwner, TimeSpan.FromSeconds(30)), "no silo took partition 0");

        await delivery.DeliverAsync(Record(offset: 10, epoch: 7), StreamRecorderGrain.Provider);
        await Assert.ThrowsAsync<OrleansKafka.KeyGrains.StaleLeaseEpochException>(() => delivery.DeliverAsync(Record(offset: 11, epoch: 6), StreamRecorderGrain.Provider));
        await delivery.DeliverAsync(Record(offset: 12, epoch: 7), StreamRecorderGrain.Provider);

        Assert.Equal([10L, 12L], log.OffsetsOf("fenced"));
    }

    [Fact]
    public async Task ANamespaceNobodySubscribesTo_HoldsThePartition_NamingIt_RatherThanDroppingRecords()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["lonely"] = 1;
            o.Services = s => s.AddSingleton(log).AddSingleton(gate);
            o.Processors = p => p.AddKafkaStreams<string>(StreamRecorderGrain.Provider, x => { x.Topic = "lonely"; x.Group = Group; x.MaxAttempts = 1; });
        });

        await cluster.ProduceAsync("lonely", [("k", "v")], partition: 0);
        var partition = cluster.Client.GetGrain<OrleansKafka.Partitions.IPartitionGrain>(OrleansKafka.Partitions.PartitionGrainKey.Format(Group, "lonely", 0));
        OrleansKafka.Partitions.PartitionStatus? status = null;
        Assert.True(
            await Poll.UntilAsync(async () => (status = await partition.GetStatusAsync()).State == OrleansKafka.Partitions.PartitionState.Holding, TimeSpan.FromSeconds(30)),
            $"the partition did not hold: {status}");
        Assert.Contains("No grain is implicitly subscribed to stream namespace 'lonely'", status!.LastError);
        Assert.True((await cluster.CommittedOffsetsAsync(Group, "lonely"))[0] <= 0, "the record was committed");
    }

    /// <summary>A partition the test topic does not have, so no silo's own lease of it judges these calls.</summary>
    private const int UnleasedPartition = 9;

    private static OrleansKafka.KeyGrains.KeyedRecord<string> Record(long offset, long epoch) => new()
    {
        Key = "fenced",
        Value = "v",
        ConsumerGroup = Group,
        Topic = Topic,
        Partition = UnleasedPartition,
        Offset = offset,
        Timestamp = DateTimeOffset.UnixEpoch,
        Headers = [],
        LeaseEpoch = epoch,
    };

    [Fact]
    public async Task OneProviderWithTwoTopics_EachTopicIsANamespaceWithItsOwnSubscribers()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Topics[PaymentRecorderGrain.Namespace] = 2;
            o.Services = s => s.AddSingleton(log).AddSingleton(gate);
            o.Processors = p => p
                .AddKafkaStreams<string>(StreamRecorderGrain.Provider, x => { x.Topic = Topic; x.Group = Group; })
                .AddKafkaStreamNamespace<string>(StreamRecorderGrain.Provider, "payments-stream", x => { x.Topic = PaymentRecorderGrain.Namespace; x.Group = Group; });
        });

        await cluster.ProduceAsync(Topic, [("a", "1"), ("a", "2")], partition: 0);
        await cluster.ProduceAsync(PaymentRecorderGrain.Namespace, [("a", "1"), ("a", "2"), ("a", "3")], partition: 1);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));
        await cluster.WaitForCommittedAsync(Group, PaymentRecorderGrain.Namespace, TimeSpan.FromSeconds(30));

        Assert.Equal([0L, 1L], log.OffsetsOf("a"));
        Assert.Equal([0L, 1L, 2L], log.OffsetsOf("payments:a"));
    }

    private static Task<KafkaTestCluster> StartAsync(KeyGrainLog log, KeyGate gate, Action<ProcessorOptions>? configure = null) =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 2;
            o.Topics[Topic] = 1;
            o.Topics[$"{Topic}.dlq"] = 1;
            o.Topics["published"] = 1;
            o.Services = s => s.AddSingleton(log).AddSingleton(gate);
            o.Processors = p => p.AddKafkaStreams<string>(StreamRecorderGrain.Provider, x =>
            {
                x.Topic = Topic;
                x.Group = Group;
                x.FirstRetryDelay = TimeSpan.FromMilliseconds(10);
                configure?.Invoke(x);
            });
        });
}
