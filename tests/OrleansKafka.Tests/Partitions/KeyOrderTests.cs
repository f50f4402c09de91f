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
