using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Partitions;

/// <summary>An operator's pause and resume, and the ownership history, on an in-process cluster and the embedded Kafka.</summary>
[Trait("Category", "Kafka")]
public sealed class PauseTests
{
    private const string Topic = "pausable";
    private const string Group = "pausers";

    [Fact]
    public async Task Pause_StopsOnlyThatPartition_ItsCommittedOffsetStaysUntilResume_ThenEveryRecordIsProcessedOnceInOrder()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync(log);
        await cluster.ProduceAsync(Topic, Records(0, 5), partition: 0);
        await cluster.ProduceAsync(Topic, Records(0, 5), partition: 1);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 5, [1] = 5 });

        var paused = Grain(cluster, 0);
        await paused.PauseAsync();
        await paused.PauseAsync(); // a second pause changes nothing
        await cluster.ProduceAsync(Topic, Records(5, 5), partition: 0);
        await cluster.ProduceAsync(Topic, Records(5, 5), partition: 1);

        // The other partition goes on; the paused one processes nothing and commits nothing.
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [1] = 10 });
        Assert.True(await Poll.UntilAsync(async () => (await paused.GetStatusAsync()).State == PartitionState.Paused, TimeSpan.FromSeconds(10)));
        var status = await paused.GetStatusAsync();
        Assert.NotNull(status.PausedSince);
        Assert.Equal(5, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);
        Assert.Equal(5, log.Of(0).Count);

        await paused.ResumeAsync();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 10, [1] = 10 });
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), log.Of(0).Select(r => r.Offset));
        Assert.Null((await paused.GetStatusAsync()).PausedSince);
    }

    [Fact]
    public async Task History_RecordsTheOwnerSiloEpochAndReason_AndCommandsOnAPartitionNoProcessorReadsFailClearly()
    {
        await using var cluster = await StartAsync(new RecordLog());
        await cluster.ProduceAsync(Topic, Records(0, 3), partition: 1);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [1] = 3 });

        var status = await Grain(cluster, 1).GetStatusAsync();
        var owner = Assert.Single(await Grain(cluster, 1).GetHistoryAsync());
        Assert.Equal((status.Silo, status.LeaseEpoch, OwnershipReason.Start), (owner.Silo, owner.Epoch, owner.Reason));

        var unknown = cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format("no-such-group", Topic, 0));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(unknown.PauseAsync);
        Assert.Contains("No processor of this cluster reads topic 'pausable' in consumer group 'no-such-group'", error.Message);
        var outOfRange = await Assert.ThrowsAsync<InvalidOperationException>(Grain(cluster, 7).PauseAsync);
        Assert.Contains("has no partition 7", outOfRange.Message);
    }

    private static IPartitionGrain Grain(KafkaTestCluster cluster, int partition) =>
        cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, partition));

    private static IEnumerable<(string?, string?)> Records(int from, int count) =>
        Enumerable.Range(from, count).Select(i => ((string?)$"k{i}", (string?)$"v{i}"));

    private static Task<KafkaTestCluster> StartAsync(RecordLog log) =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 2;
            o.Services = s => s.AddSingleton(log);
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = Topic; x.Group = Group; });
        });
}
