using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Leasing;
using OrleansKafka.Leasing.Protocol;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Leasing.Silo;

[Trait("Category", "Kafka")]
public sealed class LeaseAgentTests
{
    private const int CoordinatorBroker = 1;
    private const int LeaderBroker = 2;

    [Fact]
    public async Task AcquiringWhileTheGroupCoordinatorIsUnreachable_TheSilosOtherLeasesAreStillRenewed()
    {
        // Reading a granted partition's committed offset waits for the group's coordinator for up
        // to StartupTimeout (5 s here), longer than a lease (3 s): the leases the silo already
        // holds must be renewed meanwhile, or one slow coordinator costs every partition.
        var log = new RecordLog();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 2;
            o.Topics["orders"] = 12;
            o.Services = s => s.AddSingleton(log);
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "orders"; x.Group = "billing"; });
        });
        var lease = cluster.Client.GetGrain<IPartitionLeaseGrain>("billing");
        Assert.True(await Poll.UntilAsync(async () => (await lease.GetAssignmentsAsync()).Select(a => a.Owner).Where(o => o is not null).Distinct().Count() == 2, TimeSpan.FromSeconds(30)));
        await cluster.ProduceSequencesAsync("orders", 12, 20);
        await cluster.WaitForCommittedAsync("billing", "orders");

        // Fetching stays on a healthy broker; only the group's coordinator goes away.
        for (var p = 0; p < 12; p++)
        {
            cluster.Kafka.SetPartitionLeader("orders", p, LeaderBroker);
        }

        cluster.Kafka.SetGroupCoordinator("billing", CoordinatorBroker);
        // The victim is the silo without the lease grain: this test is about acquisition, not
        // about the lease grain's own failover (which would cost the survivor its leases too).
        var leaseHost = await LeaseGrainHostAsync(cluster, "billing");
        var victim = cluster.Cluster.Silos.First(s => !s.SiloAddress.Equals(leaseHost));
        var survivor = SiloIdentity.Of(cluster.Cluster.Silos.First(s => s != victim).SiloAddress);
        var before = (await lease.GetAssignmentsAsync()).Where(a => a.Owner == survivor).ToDictionary(a => a.Partition, a => a.Epoch);
        cluster.Kafka.SetBrokerUp(CoordinatorBroker, up: false);
        try
        {
            await cluster.Cluster.KillSiloAsync(victim);
            Assert.True(await AcrossAKill.UntilAsync(async () => (await lease.GetAssignmentsAsync()).All(a => a.Owner == survivor), TimeSpan.FromSeconds(30)), "the killed silo's partitions were not granted to the survivor");

            // While the survivor reads the granted partitions' offsets in vain, its own leases keep their epochs.
            var renewedEpochs = await Poll.UntilAsync(
                async () => (await lease.GetAssignmentsAsync()).Any(a => before.TryGetValue(a.Partition, out var epoch) && a.Epoch != epoch),
                TimeSpan.FromSeconds(7));
            Assert.False(renewedEpochs, "a partition the survivor already held was granted again: its lease ran out while an acquisition held up the heartbeats");
        }
        finally
        {
            cluster.Kafka.SetBrokerUp(CoordinatorBroker, up: true);
        }

        await Task.WhenAll(Enumerable.Range(0, 12).Select(p =>
            cluster.ProduceAsync("orders", Enumerable.Range(20, 20).Select(i => ((string?)"k", (string?)$"p{p}-{i}")), p)));
        await cluster.WaitForCommittedAsync("billing", "orders", TimeSpan.FromSeconds(60));
        for (var p = 0; p < 12; p++)
        {
            Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), log.Of(p).Select(r => r.Offset).Distinct().Order());
        }
    }

    private static async Task<Orleans.Runtime.SiloAddress> LeaseGrainHostAsync(KafkaTestCluster cluster, string group)
    {
        var statistics = await cluster.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).GetDetailedGrainStatistics();
        var lease = statistics.Where(s => s.GrainId.Type.ToString() == "orleanskafka.lease" && s.GrainId.Key.ToString() == group).ToList();
        return lease.Count == 1 ? lease[0].SiloAddress : throw new InvalidOperationException($"Expected one activation of the lease grain of '{group}', found {lease.Count}: {string.Join(", ", statistics.Select(s => s.GrainId))}");
    }
}
