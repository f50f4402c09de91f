using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;
using DeliveryGuarantee = OrleansKafka.Processing.DeliveryGuarantee;

namespace OrleansKafka.Tests.Processing;

[Trait("Category", "Kafka")]
public sealed class ProcessingTests
{
    private const string Topic = "orders";
    private const string Group = "billing";

    [Fact]
    public async Task Process_TwelvePartitions_EveryRecordOnceInOffsetOrderConcurrentlyAndCommitted()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync<RecordingProcessor>(12, s => s.AddSingleton(log));
        const int perPartition = 200;

        await cluster.ProduceSequencesAsync(Topic, 12, perPartition);
        await cluster.WaitForCommittedAsync(Group, Topic);

        Assert.Equal(12 * perPartition, log.Count);
        for (var p = 0; p < 12; p++)
        {
            var seen = log.Of(p);
            Assert.Equal(Enumerable.Range(0, perPartition).Select(i => $"p{p}-{i}"), seen.Select(r => r.Value));
            Assert.Equal(Enumerable.Range(0, perPartition).Select(i => (long)i), seen.Select(r => r.Offset));
        }

        Assert.True(log.MaxConcurrent > 1, $"partitions never overlapped (at most {log.MaxConcurrent} processor ran at once)");
        var committed = await cluster.CommittedOffsetsAsync(Group, Topic);
        var high = await cluster.HighWatermarksAsync(Topic);
        Assert.Equal(high, committed);
        Assert.All(high.Values, h => Assert.Equal(perPartition, h));
    }

    [Fact]
    public async Task Restart_AfterGracefulStop_ResumesAtCommittedOffsetsWithNothingSkippedOrRepeated()
    {
        using var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic(Topic, 4);
        var first = new RecordLog();
        await using (var cluster = await StartAsync<RecordingProcessor>(4, s => s.AddSingleton(first), kafka))
        {
            await cluster.ProduceSequencesAsync(Topic, 4, 50);
            await cluster.WaitForCommittedAsync(Group, Topic);
            await cluster.StopSilosAsync();
        }

        var second = new RecordLog();
        await using (var cluster = await StartAsync<RecordingProcessor>(4, s => s.AddSingleton(second), kafka))
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(p =>
                cluster.ProduceAsync(Topic, Enumerable.Range(50, 30).Select(i => ((string?)"k", (string?)$"p{p}-{i}")), p)));
            await cluster.WaitForCommittedAsync(Group, Topic);
        }

        Assert.Equal(4 * 50, first.Count);
        for (var p = 0; p < 4; p++)
        {
            Assert.Equal(Enumerable.Range(50, 30).Select(i => (long)i), second.Of(p).Select(r => r.Offset));
        }
    }

    [Fact]
    public async Task AtMostOnce_CommitsEachRecordBeforeItIsProcessed()
    {
        using var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic(Topic, 2);
        using var reader = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = Group }).Build();
        var probe = new CommitProbe((topic, partition) =>
            reader.Committed([new TopicPartition(topic, partition)], TimeSpan.FromSeconds(5))[0].Offset.Value);
        await using var cluster = await StartAsync<CommitProbeProcessor>(2, s => s.AddSingleton(probe), kafka, DeliveryGuarantee.AtMostOnce);

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 20).Select(i => ((string?)"k", (string?)$"v{i}")), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic);
        Assert.True(await Poll.UntilAsync(() => probe.CommittedAtProcessing.Count == 20, TimeSpan.FromSeconds(10)));

        Assert.All(probe.CommittedAtProcessing, kv => Assert.True(kv.Value > kv.Key, $"offset {kv.Key} was processed while the committed offset was {kv.Value}"));
    }

    [Fact]
    public async Task ProcessorException_RetriedUpToMaxAttempts_ThenTheDefaultHoldsThePartitionAtIt_OtherPartitionsGoOn()
    {
        var log = new RecordLog();
        var plan = new PoisonPlan(partition: 3, offset: 5);
        await using var cluster = await StartAsync<PoisonProcessor>(4, s => s.AddSingleton(log).AddSingleton(plan));

        await cluster.ProduceSequencesAsync(Topic, 4, 20);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 20, [1] = 20, [2] = 20, [3] = 5 });
        var grain = cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 3));
        PartitionStatus? status = null;
        Assert.True(await Poll.UntilAsync(async () => (status = await grain.GetStatusAsync()).State == PartitionState.Holding, TimeSpan.FromSeconds(10)), $"the partition did not hold: {status}");

        Assert.Equal(ProcessorOptions.DefaultMaxAttempts, plan.Attempts[5]);
        Assert.Equal(5, status!.HeldOffset);
        Assert.Equal("p3-5", status.HeldValue);
        Assert.Contains("poison record at offset 5", status.LastError);
        Assert.Equal(5, (await cluster.CommittedOffsetsAsync(Group, Topic))[3]);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i), log.Of(3).Select(r => r.Offset));
    }

    [Fact]
    public async Task Shutdown_CancelsTheProcessorsTokenAndLeavesTheRecordUncommitted()
    {
        var probe = new CancellationProbe();
        var cluster = await StartAsync<BlockingProcessor>(1, s => s.AddSingleton(probe));
        try
        {
            await cluster.ProduceAsync(Topic, [("k", "v")]);
            await probe.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

            await cluster.StopSilosAsync();

            Assert.True(probe.Cancelled.Task.IsCompletedSuccessfully, "the processor's token did not fire during shutdown");
            Assert.Equal(-1, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task BatchProcessor_WithJsonValues_SeesEveryRecordDeserialized()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync<JsonBatchProcessor>(2, s => s.AddSingleton(log));

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 30).Select(i => ((string?)$"k{i}", (string?)JsonSerializer.Serialize(new Measurement($"s{i}", i * 1.5), JsonSerializerOptions.Web))), partition: 1);
        await cluster.WaitForCommittedAsync(Group, Topic);

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"k{i}:s{i}:{i * 1.5}"), log.Of(1).Select(r => r.Value));
    }

    [Fact]
    public async Task RecordFromKcatProcess_IsProcessed()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync<RecordingProcessor>(2, s => s.AddSingleton(log));

        var kcat = Process.Start(new ProcessStartInfo("kcat", ["-P", "-b", cluster.Kafka.BootstrapServers, "-t", Topic, "-p", "1", "-K", ":"])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("kcat did not start");
        await kcat.StandardInput.WriteLineAsync("from-kcat:hello from another process");
        kcat.StandardInput.Close();
        await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(kcat.ExitCode == 0, $"kcat failed: {await kcat.StandardError.ReadToEndAsync()}");

        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [1] = 1 });
        Assert.Equal(["hello from another process"], log.Of(1).Select(r => r.Value));
    }

    private static Task<KafkaTestCluster> StartAsync<TProcessor>(int partitions, Action<IServiceCollection> services, EmbeddedKafkaCluster? kafka = null, DeliveryGuarantee delivery = DeliveryGuarantee.AtLeastOnce)
        where TProcessor : class =>
        KafkaTestCluster.StartAsync(
            o =>
            {
                o.Topics[Topic] = partitions;
                o.Services = services;
                o.Processors = p => p.AddProcessor<TProcessor>("under-test", x =>
                {
                    x.Topic = Topic;
                    x.Group = Group;
                    x.Delivery = delivery;
                    x.FirstRetryDelay = TimeSpan.FromMilliseconds(20);
                    x.MaxRetryDelay = TimeSpan.FromMilliseconds(200);
                });
            },
            kafka);
}
