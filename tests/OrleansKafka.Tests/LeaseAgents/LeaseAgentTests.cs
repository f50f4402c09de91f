using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leasing;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.LeaseAgents;

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

    [Fact]
    public async Task LeaseGrainAnswersLaterThanTheHeartbeatTimeout_TheSiloKeepsItsLeasesAndCommitsWhatItProcesses()
    {
        // Silos whose CPUs are saturated get their answers late. A heartbeat answered after its
        // timeout (half a lease) renews nothing, and heartbeats go one at a time: before renewals
        // went out in their place, every lease ran out and was granted again under a new epoch.
        var late = new LateLeaseAnswers();
        var log = new RecordLog();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["orders"] = 4;
            o.Services = s => s.AddSingleton(log).AddSingleton<IOutgoingGrainCallFilter>(late);
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "orders"; x.Group = "billing"; });
        });
        var lease = cluster.Client.GetGrain<IPartitionLeaseGrain>("billing");
        Assert.True(await Poll.UntilAsync(async () => (await lease.GetAssignmentsAsync()).All(a => a.Owner is not null), TimeSpan.FromSeconds(30)));
        await cluster.ProduceSequencesAsync("orders", 4, 10);
        await cluster.WaitForCommittedAsync("billing", "orders");
        var before = (await lease.GetAssignmentsAsync()).ToDictionary(a => a.Partition, a => a.Epoch);
        var leases = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<OrleansKafka.Leases.LeaseTable>();

        // 2 s late: past the heartbeat's timeout (1.5 s, half the test cluster's 3 s lease), within a lease.
        late.Delay = TimeSpan.FromSeconds(2);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(p =>
            cluster.ProduceAsync("orders", Enumerable.Range(10, 10).Select(i => ((string?)"k", (string?)$"p{p}-{i}")), p)));
        await cluster.WaitForCommittedAsync("billing", "orders", TimeSpan.FromSeconds(30));
        var lost = await Poll.UntilAsync(
            async () => (await lease.GetAssignmentsAsync()).Any(a => a.Epoch != before[a.Partition]) || leases.OfGroup("billing").Count(l => l.IsCurrent) < 4,
            TimeSpan.FromSeconds(8));
        var sinceAnswer = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<OrleansKafka.Hosting.KafkaProcessingService>().Agent("billing")!.SinceLastAnswer();
        late.Delay = TimeSpan.Zero;

        Assert.False(lost, "a lease ran out while its heartbeats were answered late: its partition stopped, or was granted again");

        // Readiness counts the renewals' answers: the lease grain does answer, if late.
        Assert.True(sinceAnswer < TimeSpan.FromSeconds(3), $"the lease grain last answered {sinceAnswer} ago by this silo's count");
        for (var p = 0; p < 4; p++)
        {
            Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), log.Of(p).Select(r => r.Offset));
        }
    }

    /// <summary>Delays the lease grain's answers to heartbeats and renewals by <see cref="Delay"/>, as on silos whose CPUs are saturated.</summary>
    private sealed class LateLeaseAnswers : IOutgoingGrainCallFilter
    {
        public TimeSpan Delay { get; set; }

        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            await context.Invoke();
            if (Delay > TimeSpan.Zero && context.InterfaceMethod is { } method && method.DeclaringType == typeof(ILeaseProtocolGrain) && method.Name is nameof(ILeaseProtocolGrain.HeartbeatAsync) or nameof(ILeaseProtocolGrain.RenewAsync))
            {
                await Task.Delay(Delay);
            }
        }
    }

    private static async Task<Orleans.Runtime.SiloAddress> LeaseGrainHostAsync(KafkaTestCluster cluster, string group)
    {
        var statistics = await cluster.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).GetDetailedGrainStatistics();
        var lease = statistics.Where(s => s.GrainId.Type.ToString() == "orleanskafka.lease" && s.GrainId.Key.ToString() == group).ToList();
        return lease.Count == 1 ? lease[0].SiloAddress : throw new InvalidOperationException($"Expected one activation of the lease grain of '{group}', found {lease.Count}: {string.Join(", ", statistics.Select(s => s.GrainId))}");
    }
}
