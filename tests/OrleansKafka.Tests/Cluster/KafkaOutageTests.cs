using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>Kafka going away and coming back while an in-process cluster processes it.</summary>
[Trait("Category", "Kafka")]
public sealed class KafkaOutageTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task EveryBrokerDownForTenSecondsMidStream_ProcessingResumesByItself_NothingLost_NeverTwoOwners()
    {
        var log = new RecordLog();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 2;
            o.Topics["orders"] = 12;
            o.Services = s => s.AddSingleton(log);
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "orders"; x.Group = "billing"; });
        });
        await cluster.ProduceSequencesAsync("orders", 12, 50);
        await cluster.WaitForCommittedAsync("billing", "orders");

        cluster.Kafka.SetBrokersUp(false);
        try
        {
            // The outage itself: a fault of a given length, not a wait for a condition.
            await Task.Delay(Outage);
        }
        finally
        {
            cluster.Kafka.SetBrokersUp(true);
        }

        await Task.WhenAll(Enumerable.Range(0, 12).Select(p =>
            cluster.ProduceAsync("orders", Enumerable.Range(50, 50).Select(i => ((string?)"k", (string?)$"p{p}-{i}")), p)));
        await cluster.WaitForCommittedAsync("billing", "orders", TimeSpan.FromSeconds(60));

        for (var p = 0; p < 12; p++)
        {
            Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), log.Of(p).Select(r => r.Offset).Distinct().Order());
            Assert.True(log.StaleRecords(p) == 0, $"partition {p}: a record was processed under an older lease epoch after a newer one had started (epochs in order: {string.Join(", ", log.EpochsOf(p))})");
        }

        Assert.Equal(0, log.PartitionOverlaps);
    }
}
