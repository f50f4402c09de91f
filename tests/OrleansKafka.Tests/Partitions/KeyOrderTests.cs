using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Partitions;

/// <summary>Key-ordered processing inside one partition (<see cref="ProcessingOrder.Key"/>).</summary>
[Trait("Category", "Kafka")]
public sealed class KeyOrderTests
{
    private const string Topic = "orders";
    private const string Group = "billing";

    [Fact]
    public async Task KeyOrder_DifferentKeysRunConcurrently_EachKeyInOrder_EverythingCommitted()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync(log, new SlowGate());

        // 20 keys, 25 records each, interleaved in one partition.
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 500).Select(i => ((string?)$"key-{i % 20}", (string?)$"{i / 20}")), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 500 });

        var seen = log.Of(0);
        Assert.Equal(500, seen.Select(r => r.Offset).Distinct().Count());
        foreach (var byKey in seen.GroupBy(r => r.Value!.Split(':')[0]))
        {
            Assert.Equal(Enumerable.Range(0, 25).Select(i => $"{byKey.Key}:{i}"), byKey.Select(r => r.Value));
        }

        Assert.True(log.PartitionOverlaps > 0, "no two records of the partition were ever processed at once");
    }

    [Fact]
    public async Task KeyOrder_LaterOffsetsFinishFirst_TheCommitStaysAtTheFirstUnfinishedOne()
    {
        var (log, gate) = (new RecordLog(), new SlowGate());
        await using var cluster = await StartAsync(log, gate);

        await cluster.ProduceAsync(Topic, [("a", "slow"), .. Enumerable.Range(1, 9).Select(i => ((string?)$"k{i}", (string?)"fast"))], partition: 0);
        Assert.True(await Poll.UntilAsync(() => log.Of(0).Count == 9, TimeSpan.FromSeconds(30)), $"{log.Of(0).Count} of the 9 fast records were processed while the first waited");

        // The processor's commit interval passes several times: nothing past offset 0 may be committed.
        Assert.False(await Poll.UntilAsync(async () => (await cluster.CommittedOffsetsAsync(Group, Topic))[0] > 0, TimeSpan.FromSeconds(1)), "an offset past the unfinished record was committed");

        gate.Open.SetResult();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 10 });
        Assert.Equal(10, log.Of(0).Count);
    }

    [Fact]
    public async Task KeyOrder_HoldAtARecord_CommitsNothingPastIt_ThenASkipGoesOnWithoutRunningAnyRecordTwice()
    {
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 3));
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(log).AddSingleton(plan);
            o.Processors = p => p.AddProcessor<PoisonProcessor>("under-test", x =>
            {
                x.Topic = Topic;
                x.Group = Group;
                x.Order = ProcessingOrder.Key;
                x.MaxAttempts = 2;
                x.FirstRetryDelay = TimeSpan.FromMilliseconds(10);
                x.OnFailure = FailureAction.Hold;
            });
        });
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 10).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);
        var grain = cluster.Client.GetGrain<OrleansKafka.Partitions.IPartitionGrain>(OrleansKafka.Partitions.PartitionGrainKey.Format(Group, Topic, 0));

        Assert.True(await Poll.UntilAsync(async () => (await grain.GetStatusAsync()).State == OrleansKafka.Partitions.PartitionState.Holding, TimeSpan.FromSeconds(20)));
        Assert.Equal(3, (await grain.GetStatusAsync()).HeldOffset);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 3 });
        Assert.False(await Poll.UntilAsync(async () => (await cluster.CommittedOffsetsAsync(Group, Topic))[0] > 3, TimeSpan.FromSeconds(1)), "an offset past the held record was committed");

        await grain.ResolveHoldAsync(OrleansKafka.Partitions.HoldDecision.Skip);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 10 });

        var offsets = log.Of(0).Select(r => r.Offset).ToList();
        Assert.Equal([0L, 1, 2, 4, 5, 6, 7, 8, 9], offsets.Order());
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
    }

    private static Task<KafkaTestCluster> StartAsync(RecordLog log, SlowGate gate) =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(log).AddSingleton(gate);
            o.Processors = p => p.AddProcessor<AwaitingProcessor>("under-test", x =>
            {
                x.Topic = Topic;
                x.Group = Group;
                x.Order = ProcessingOrder.Key;
                x.MaxInFlight = 50;
            });
        });
}
