using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.KeyGrains;

/// <summary>Where key grains are placed: with the partition that feeds them, unless their class says otherwise.</summary>
[Trait("Category", "Kafka")]
public sealed class KeyGrainPlacementTests
{
    private const string Group = "placed";
    private const string Topic = "customers";
    private const int Partitions = 6;

    [Fact]
    public async Task AKeyGrainWithoutAPlacementOfItsOwn_RunsOnTheSiloThatOwnsItsPartition()
    {
        var log = new PlacementLog();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 3;
            o.Topics[Topic] = Partitions;
            o.Services = s => s.AddSingleton(log);

            // A partition that moves leaves its key grains behind (by design: they stay until
            // deactivated); by number, nothing moves once the three silos hold their share.
            o.Configure = k => k.Placement.BalanceBy = OrleansKafka.Configuration.BalanceBy.Count;
            o.Processors = p => p.AddKeyGrain<IPlacedKeyGrain>("placed", x => { x.Topic = Topic; x.Group = Group; });
        });

        // Once every silo holds some of the partitions, 300 keys over all six of them.
        var silos = cluster.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<OrleansKafka.Leases.LeaseTable>()).ToList();
        Assert.True(await Poll.UntilAsync(() => silos.All(t => t.OfGroup(Group).Any()), TimeSpan.FromSeconds(30)), "the partitions never spread over the three silos");
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 600).Select(i => ((string?)$"customer-{i % 300}", (string?)$"{i}")));
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

        Assert.Equal(600, log.Records.Count);
        Assert.True(log.Records.Select(r => r.Partition).Distinct().Count() > 1, "every record was in one partition");
        var elsewhere = log.Records.Count(r => !r.SentFromHere);
        Assert.True(elsewhere == 0, $"{elsewhere} of 600 records ran on a silo other than the one that owned their partition");
    }
}
