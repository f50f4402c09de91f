using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansKafka.Committing;
using OrleansKafka.Kafka;
using OrleansKafka.Leases;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Committing;

[Trait("Category", "Kafka")]
public sealed class GroupControlClientTests
{
    private const short ApiKeyOffsetCommit = 8;

    [Fact]
    public async Task FlushAsync_CommitsCurrentLeasesAndRefusesALostOne()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 2);
        var current = new LocalLease("g", new TopicPartition("t", 0), 1, long.MaxValue, TimeProvider.System);
        var stale = new LocalLease("g", new TopicPartition("t", 1), 1, long.MaxValue, TimeProvider.System);
        current.StoreProcessed(7);
        stale.StoreProcessed(9);
        stale.Lose();
        using var control = new GroupControlClient("g", new Dictionary<string, string> { ["bootstrap.servers"] = kafka.BootstrapServers }, () => [current, stale], TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3), NullLogger.Instance);

        await control.FlushAsync();
        var committed = await control.CommittedAsync([current.Partition, stale.Partition], TimeSpan.FromSeconds(5));

        Assert.Equal(7, committed.Single(c => c.Partition == 0).Offset.Value);
        Assert.Equal(Offset.Unset, committed.Single(c => c.Partition == 1).Offset);
        Assert.Equal(7, current.CommittedOffset);
        Assert.Equal(-1, stale.CommittedOffset);
    }

    [Fact]
    public async Task CommitFailsAlongsideOtherWork_TheOtherWorkStillSucceeds_AndTheOffsetIsCommittedLater()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        var (lease, control) = await WithNextCommitRefusedAsync(kafka);
        using (control)
        {
            var counts = await control.PartitionCountsAsync(["t"], TimeSpan.FromSeconds(5));

            Assert.Equal(1, counts["t"]);
            Assert.Equal(-1, lease.CommittedOffset);
            await control.FlushAsync();
            Assert.Equal(3, lease.CommittedOffset);
        }
    }

    [Fact]
    public async Task FlushAsync_CommitRefused_Fails()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        var (lease, control) = await WithNextCommitRefusedAsync(kafka);
        using (control)
        {
            await Assert.ThrowsAnyAsync<KafkaException>(control.FlushAsync);
            Assert.Equal(-1, lease.CommittedOffset);
        }
    }

    /// <summary>A control client with offset 3 of t/0 processed and the brokers set to refuse the next commit (GROUP_AUTHORIZATION_FAILED).</summary>
    private static async Task<(LocalLease Lease, GroupControlClient Control)> WithNextCommitRefusedAsync(EmbeddedKafkaCluster kafka)
    {
        kafka.CreateTopic("t", 1);
        var lease = new LocalLease("g", new TopicPartition("t", 0), 1, long.MaxValue, TimeProvider.System);
        var control = new GroupControlClient("g", new Dictionary<string, string> { ["bootstrap.servers"] = kafka.BootstrapServers }, () => [lease], TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3), NullLogger.Instance);

        // Once the group's coordinator is known, only the commit itself meets the refusal.
        await control.CommittedAsync([lease.Partition], TimeSpan.FromSeconds(5));
        lease.StoreProcessed(3);
        kafka.FailNextRequests(ApiKeyOffsetCommit, 30);
        return (lease, control);
    }

    [Fact]
    public async Task FlushAsync_ExpiredLease_IsNotCommitted()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var lease = new LocalLease("g", new TopicPartition("t", 0), 1, time.GetTimestamp() + TimeSpan.FromSeconds(10).Ticks, time);
        lease.StoreProcessed(5);
        time.Advance(TimeSpan.FromSeconds(10));
        using var control = new GroupControlClient("g", new Dictionary<string, string> { ["bootstrap.servers"] = kafka.BootstrapServers }, () => [lease], TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3), NullLogger.Instance);

        await control.FlushAsync();

        Assert.Equal(Offset.Unset, (await control.CommittedAsync([lease.Partition], TimeSpan.FromSeconds(5)))[0].Offset);
    }

    [Fact]
    public async Task ACommitOnItsWayWhenKafkaGoesAway_AStoppingSilosFlushFailsWithinTheWait_ARunningOnesWaits_AndTheClientClosesWithoutWaitingForKafka()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        var lease = new LocalLease("g", new TopicPartition("t", 0), 1, long.MaxValue, TimeProvider.System);
        var log = new ListLogger();
        var settings = new Dictionary<string, string> { ["bootstrap.servers"] = kafka.BootstrapServers, ["debug"] = "cgrp" };
        var control = new GroupControlClient("g", settings, () => [lease], TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1), log);
        await control.CommittedAsync([lease.Partition], TimeSpan.FromSeconds(5));
        lease.StoreProcessed(4);

        // The commit reaches the broker, which holds its answer; then every connection drops.
        // librdkafka retries such a commit until the coordinator is back, however long that is.
        kafka.SetBrokerRoundTrip(1, TimeSpan.FromSeconds(30));
        var stopping = control.FlushAsync(new CancellationToken(canceled: true));
        var running = control.FlushAsync(CancellationToken.None);
        Assert.True(
            await Poll.UntilAsync(() => log.Entries.Any(e => e.Message.Contains("Committing offsets for 1 partition", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)),
            "the commit was never sent");
        kafka.SetBrokersUp(false);

        Assert.True(await Poll.UntilAsync(() => stopping.IsCompleted, TimeSpan.FromSeconds(10)), "the stopping silo's flush still waits for Kafka");
        Assert.IsType<TimeoutException>(stopping.Exception?.InnerException);
        Assert.Equal(-1, lease.CommittedOffset);
        var close = Task.Run(control.Dispose);
        Assert.True(await Poll.UntilAsync(() => close.IsCompleted, TimeSpan.FromSeconds(10)), "closing the client still waits for Kafka");

        // A running silo's flush waits for Kafka, however long (its lease is held meanwhile).
        Assert.False(running.IsCompleted, "a running silo's flush gave up while Kafka was away");

        // Nothing lost: once Kafka is back, the held commit lands, and then the client closes.
        kafka.SetBrokerRoundTrip(1, TimeSpan.Zero);
        kafka.SetBrokersUp(true);
        Assert.True(await Poll.UntilAsync(() => lease.CommittedOffset == 4, TimeSpan.FromSeconds(60)), "the held commit never landed");
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(
            await Poll.UntilAsync(() => log.Entries.Any(e => e.Message.Contains("Consumer closed", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)),
            "the client was never closed");
    }
}
