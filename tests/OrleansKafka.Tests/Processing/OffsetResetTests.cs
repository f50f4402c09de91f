using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Processing;

/// <summary>
/// A committed offset Kafka does not hold (here: committed past the end, as after a topic is
/// created again or an unclean leader election): librdkafka would silently start over at the
/// oldest record, and the records below the committed offset were dropped and committed past. Now
/// the partition holds and says why, or follows the processor's OnOffsetReset.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class OffsetResetTests
{
    private const string Topic = "orders";
    private const string Group = "billing";

    [Fact]
    public async Task ACommittedOffsetPastTheEnd_HoldsThePartition_NamingBothOffsets_UntilAnOperatorSeeks()
    {
        using var kafka = StartKafkaWithTenRecordsAndOffset50Committed();
        var log = new RecordLog();
        await using var cluster = await StartAsync(kafka, log, OffsetResetAction.Hold);
        var grain = cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 0));

        var status = await grain.GetStatusAsync();
        Assert.True(
            await Poll.UntilAsync(async () => (status = await grain.GetStatusAsync()).State == PartitionState.Holding, TimeSpan.FromSeconds(30)),
            $"the partition is {status.State}: {status.LastError}");
        Assert.Equal(50, status.HeldOffset);
        Assert.Contains("Offset 50 of partition billing/orders/0 is not in Kafka (Kafka holds offsets 0 to 9", status.LastError, StringComparison.Ordinal);
        Assert.Contains("Seek it", status.LastError, StringComparison.Ordinal);
        Assert.Equal(0, log.Count);
        Assert.Equal(50, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);

        // Retry, skip and dead-letter are about records: refused, naming what to do.
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.ResolveHoldAsync(HoldDecision.Skip));
        Assert.Contains("Seek it", refused.Message, StringComparison.Ordinal);

        Assert.Equal(0, await grain.SeekAsync(PartitionSeek.Beginning));
        Assert.True(await Poll.UntilAsync(() => log.Count == 10, TimeSpan.FromSeconds(30)), $"{log.Count} of 10 records processed after the seek");
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 10 }, TimeSpan.FromSeconds(30));
        Assert.Equal(10, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), log.Of(0).Select(r => r.Offset));
        Assert.True(await Poll.UntilAsync(async () => (await grain.GetStatusAsync()).State == PartitionState.Idle, TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(OffsetResetAction.Earliest, 10)]
    [InlineData(OffsetResetAction.Latest, 0)]
    public async Task ACommittedOffsetPastTheEnd_FollowsOnOffsetReset(OffsetResetAction action, int processed)
    {
        using var kafka = StartKafkaWithTenRecordsAndOffset50Committed();
        var log = new RecordLog();
        await using var cluster = await StartAsync(kafka, log, action);

        // Followed once the partition's next lease says why it was granted.
        var grain = cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 0));
        Assert.True(
            await Poll.UntilAsync(async () => (await HistoryAsync(grain)).Any(h => h.Reason == OwnershipReason.OffsetReset), TimeSpan.FromSeconds(30)),
            "no lease was granted for the offset reset");

        // A record produced after that is processed in both cases. (The committed offset was 50:
        // waiting for Kafka's figure alone would not wait.)
        await cluster.ProduceAsync(Topic, [("k", "after")], 0);
        Assert.True(await Poll.UntilAsync(() => log.Of(0).Any(r => r.Offset == 10), TimeSpan.FromSeconds(30)), $"{log.Count} records processed, not offset 10");
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 11 }, TimeSpan.FromSeconds(30));
        Assert.Equal(11, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);
        Assert.Equal([.. Enumerable.Range(0, processed).Select(i => (long)i), 10L], log.Of(0).Select(r => r.Offset));
    }

    /// <summary>The partition's ownership history; none while it is between owners.</summary>
    private static async Task<IReadOnlyList<OwnershipRecord>> HistoryAsync(IPartitionGrain grain)
    {
        try
        {
            return await grain.GetHistoryAsync();
        }
        catch (InvalidOperationException)
        {
            return [];
        }
    }

    /// <summary>One partition with offsets 0-9, and offset 50 committed for the group (as Kafka tooling can).</summary>
    private static EmbeddedKafkaCluster StartKafkaWithTenRecordsAndOffset50Committed()
    {
        var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic(Topic, 1);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(new TopicPartition(Topic, 0), new Message<string, string> { Key = "k", Value = $"{i}" });
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = Group }).Build();
        consumer.Commit([new TopicPartitionOffset(Topic, 0, 50)]);
        return kafka;
    }

    private static Task<KafkaTestCluster> StartAsync(EmbeddedKafkaCluster kafka, RecordLog log, OffsetResetAction action) =>
        KafkaTestCluster.StartAsync(
            o =>
            {
                o.Topics[Topic] = 1;
                o.Services = s => s.AddSingleton(log);
                o.Processors = p => p.AddProcessor<RecordingProcessor>("under-test", x =>
                {
                    x.Topic = Topic;
                    x.Group = Group;
                    x.OnOffsetReset = action;
                });
            },
            kafka);
}
