using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Processing;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Fetching;

/// <summary>How many records a partition's feed hands to its grain at once.</summary>
[Trait("Category", "Kafka")]
public sealed class DeliverySizeTests
{
    private const string Topic = "slow-batches";
    private const string Group = "sizer";
    private const int Records = 600;

    [Fact]
    public async Task ASlowProcessor_GetsDeliveriesOfAboutAQuarterOfASecond_NotEverythingBuffered()
    {
        // 5 ms per record or more: 64 records first, then at most what 250 ms of the measured
        // pace allows (50): 64, then 50 or fewer (a first fetch of fewer than 64 records says
        // nothing about the pace, and changes nothing). Before deliveries were sized, all
        // 600 records buffered went in one or two deliveries, each then living for seconds.
        var batches = new ConcurrentQueue<int>();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(batches);
            o.Processors = p => p.AddProcessor<FiveMillisecondsPerRecord>("sizer", x => { x.Topic = Topic; x.Group = Group; });
        });

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, Records).Select(i => ((string?)$"k{i}", (string?)$"{i}")), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

        var sizes = batches.ToArray();
        Assert.Equal(Records, sizes.Sum());
        Assert.True(sizes.Max() <= 64, $"a delivery carried {sizes.Max()} records: {string.Join(", ", sizes)}");
        Assert.True(sizes.Length >= Records / 64, $"{sizes.Length} deliveries carried {Records} records: {string.Join(", ", sizes)}");
        Assert.True(sizes.SkipWhile(n => n < 64).Skip(1).All(n => n <= 50), $"deliveries did not shrink to the processor's pace: {string.Join(", ", sizes)}");
    }

    public sealed class FiveMillisecondsPerRecord(ConcurrentQueue<int> batches) : IBatchProcessor<string, string>
    {
        public async ValueTask ProcessBatchAsync(IReadOnlyList<KafkaRecord<string, string>> records, CancellationToken cancellationToken)
        {
            batches.Enqueue(records.Count);
            await Task.Delay(TimeSpan.FromMilliseconds(5 * records.Count), CancellationToken.None);
        }
    }
}
