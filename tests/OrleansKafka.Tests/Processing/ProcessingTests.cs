using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

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
        await using var cluster = await StartAsync(log);
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

    private static Task<KafkaTestCluster> StartAsync(RecordLog log) =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 12;
            o.Services = s => s.AddSingleton(log);
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = Topic; x.Group = Group; });
        });
}
