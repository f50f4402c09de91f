using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leasing;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>Kafka going away and coming back while an in-process cluster processes it.</summary>
[Trait("Category", "Kafka")]
public sealed class KafkaOutageTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task EveryBrokerDownForTenSecondsMidStream_WithASiloLeavingMeanwhile_ProcessingResumesByItself_NothingLost_NeverTwoOwners()
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

        // Records produced but not all processed yet, so that the leave below hands over work in
        // progress: the leaving silo cannot commit it (Kafka is down) and the survivor cannot read
        // a committed offset until Kafka is back.
        await Task.WhenAll(Enumerable.Range(0, 12).Select(p =>
            cluster.ProduceAsync("orders", Enumerable.Range(50, 25).Select(i => ((string?)"k", (string?)$"p{p}-{i}")), p)));
        var lease = cluster.Client.GetGrain<IPartitionLeaseGrain>("billing");
        var leaving = cluster.Cluster.Silos[1];
        var leavingId = SiloIdentity.Of(leaving.SiloAddress);
        var moving = (await lease.GetAssignmentsAsync()).Where(a => a.Owner == leavingId).Select(a => a.Partition).ToHashSet();
        Assert.NotEmpty(moving);

        cluster.Kafka.SetBrokersUp(false);
        var outage = Task.Delay(Outage);
        try
        {
            // Bounded, so that a stop that never ends fails here by name (once seen as a 5-minute
            // hang of this test in a full run, not reproduced in ten runs alone or under load).
            await cluster.Cluster.StopSiloAsync(leaving).WaitAsync(TimeSpan.FromSeconds(60));

            // The rest of the outage: a fault of a given length, not a wait for a condition.
            await outage;
        }
        finally
        {
            cluster.Kafka.SetBrokersUp(true);
        }

        await Task.WhenAll(Enumerable.Range(0, 12).Select(p =>
            cluster.ProduceAsync("orders", Enumerable.Range(75, 25).Select(i => ((string?)"k", (string?)$"p{p}-{i}")), p))).WaitAsync(TimeSpan.FromSeconds(60));
        await cluster.WaitForCommittedAsync("billing", "orders", TimeSpan.FromSeconds(60));

        // The leaving silo's partitions went on at the survivor: the transition the checks below are about.
        var survivor = SiloIdentity.Of(cluster.Cluster.Silos.Single(s => s != leaving).SiloAddress);
        Assert.All((await lease.GetAssignmentsAsync()).Where(a => moving.Contains(a.Partition)), a => Assert.Equal(survivor, a.Owner));

        for (var p = 0; p < 12; p++)
        {
            Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), log.Of(p).Select(r => r.Offset).Distinct().Order());
            Assert.True(log.StaleRecords(p) == 0, $"partition {p}: a record was processed under an older lease epoch after a newer one had started (epochs in order: {string.Join(", ", log.EpochsOf(p))})");
        }

        Assert.Equal(0, log.PartitionOverlaps);
    }

    [Fact]
    public async Task ASiloStoppingWhileKafkaIsUnreachable_StopsWithinSeconds_AndTheNextOwnerRunsItsUncommittedRecordsAgain()
    {
        // Found in CI: a stop with processed, uncommitted records held each commit for librdkafka's
        // session.timeout.ms (45 s) waiting for the group's coordinator, past the host's shutdown timeout.
        var log = new RecordLog();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 2;
            o.Topics["orders"] = 4;
            o.Services = s => s.AddSingleton(log);
            o.Configure = k =>
            {
                // Every call on the control thread (a metadata refresh too) also commits what is due.
                k.CommitInterval = TimeSpan.FromMinutes(10);
                k.MetadataRefreshInterval = TimeSpan.FromMinutes(10);
            };
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "orders"; x.Group = "billing"; });
        });
        var lease = cluster.Client.GetGrain<IPartitionLeaseGrain>("billing");
        var leaving = cluster.Cluster.Silos[1];
        var leavingId = SiloIdentity.Of(leaving.SiloAddress);
        Assert.True(
            await Poll.UntilAsync(async () => (await lease.GetAssignmentsAsync()).Count(a => a.Owner == leavingId) == 2, TimeSpan.FromSeconds(30)),
            "the second silo never held its half of the partitions");
        var moving = (await lease.GetAssignmentsAsync()).Where(a => a.Owner == leavingId).Select(a => a.Partition).ToList();
        await cluster.ProduceSequencesAsync("orders", 4, 20);
        Assert.True(await Poll.UntilAsync(() => moving.All(p => log.Of(p).Count == 20), TimeSpan.FromSeconds(30)), "the records were not processed");
        var committed = await cluster.CommittedOffsetsAsync("billing", "orders");
        Assert.All(moving, p => Assert.True(committed[p] < 20, $"partition {p} was committed to {committed[p]} before the stop: nothing left for the stop to commit"));

        cluster.Kafka.SetBrokersUp(false);
        var stop = Stopwatch.StartNew();
        try
        {
            await cluster.Cluster.StopSiloAsync(leaving).WaitAsync(TimeSpan.FromSeconds(90));
        }
        finally
        {
            stop.Stop();
            cluster.Kafka.SetBrokersUp(true);
        }

        // The test cluster's leases last 3 s: the stop waits that long for Kafka at most, then gives up the commit.
        Assert.True(stop.Elapsed < TimeSpan.FromSeconds(15), $"the stop took {stop.Elapsed.TotalSeconds:F1} s with Kafka unreachable");
        Assert.True(
            await Poll.UntilAsync(() => moving.All(p => log.Of(p).Count >= 40), TimeSpan.FromSeconds(60)),
            $"the survivor did not run the uncommitted records again: {string.Join(", ", moving.Select(p => $"partition {p}: {log.Of(p).Count} records"))}");
        Assert.All(moving, p => Assert.Equal(Enumerable.Range(0, 20).Concat(Enumerable.Range(0, 20)).Select(i => (long)i), log.Of(p).Select(r => r.Offset)));
    }
}
