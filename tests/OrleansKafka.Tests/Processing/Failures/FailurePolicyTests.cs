using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;
using OrleansKafka.Partitions;
using OrleansKafka.Processing;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Processing.Failures;

/// <summary>What happens after a processor gives up on a record, on an in-process cluster and the embedded Kafka.</summary>
[Trait("Category", "Kafka")]
public sealed class FailurePolicyTests
{
    private const string Topic = "orders";
    private const string DeadLetters = "orders.dlq";
    private const string Group = "billing";

    [Fact]
    public async Task DeadLetter_AfterMaxAttempts_TheRecordLandsOnTheDeadLetterTopicWithItsOriginAndThePartitionGoesOn()
    {
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 2));
        await using var cluster = await StartAsync<PoisonProcessor>(s => s.AddSingleton(log).AddSingleton(plan), FailureAction.DeadLetter);

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 5).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 5 });

        Assert.Equal(3, plan.Attempts[2]);
        Assert.Equal([0L, 1, 3, 4], log.Of(0).Select(r => r.Offset));
        var dead = Assert.Single(await cluster.Inspector.ReadAllAsync(DeadLetters));
        Assert.Equal(("k2", "v2"), (Encoding.UTF8.GetString(dead.Message.Key!), Encoding.UTF8.GetString(dead.Message.Value!)));
        Assert.Equal(typeof(InvalidOperationException).FullName, Header(dead, DeadLetterHeaders.ErrorType));
        Assert.Equal("poison record at offset 2", Header(dead, DeadLetterHeaders.ErrorMessage));
        Assert.Equal((Topic, "0", "2", "3", Group), (Header(dead, DeadLetterHeaders.SourceTopic), Header(dead, DeadLetterHeaders.SourcePartition), Header(dead, DeadLetterHeaders.SourceOffset), Header(dead, DeadLetterHeaders.Attempts), Header(dead, DeadLetterHeaders.ConsumerGroup)));
        Assert.Equal(1, (await StatusAsync(cluster)).RecordsDeadLettered);
    }

    [Fact]
    public async Task Skip_AfterMaxAttempts_ThePartitionGoesOnAndTheSkipIsCounted()
    {
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 2));
        await using var cluster = await StartAsync<PoisonProcessor>(s => s.AddSingleton(log).AddSingleton(plan), FailureAction.Skip);

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 5).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 5 });

        Assert.Equal(3, plan.Attempts[2]);
        Assert.Equal([0L, 1, 3, 4], log.Of(0).Select(r => r.Offset));
        Assert.Equal(1, (await StatusAsync(cluster)).RecordsSkipped);
        Assert.Empty(await cluster.Inspector.ReadAllAsync(DeadLetters, TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData(HoldDecision.Skip)]
    [InlineData(HoldDecision.DeadLetter)]
    [InlineData(HoldDecision.Retry)]
    public async Task Hold_CommitsNothingPastTheRecord_UntilTheOperatorDecides_ThenGoesOnInOrder(HoldDecision decision)
    {
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 2));
        await using var cluster = await StartAsync<PoisonProcessor>(s => s.AddSingleton(log).AddSingleton(plan), FailureAction.Hold);
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 5).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);

        PartitionStatus? status = null;
        Assert.True(await Poll.UntilAsync(async () => (status = await StatusAsync(cluster)).State == PartitionState.Holding, TimeSpan.FromSeconds(20)), $"never held: {status}");
        Assert.Equal((2L, "k2", "v2"), (status!.HeldOffset, status.HeldKey, status.HeldValue));
        Assert.NotNull(status.HeldSince);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 2 });
        Assert.Equal([0L, 1], log.Of(0).Select(r => r.Offset));

        if (decision == HoldDecision.Retry)
        {
            plan.Heal();
        }

        await Grain(cluster).ResolveHoldAsync(decision);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 5 });

        Assert.Equal(decision == HoldDecision.Retry ? [0L, 1, 2, 3, 4] : [0L, 1, 3, 4], log.Of(0).Select(r => r.Offset));
        Assert.Equal(decision == HoldDecision.DeadLetter ? 1 : 0, (await cluster.Inspector.ReadAllAsync(DeadLetters, TimeSpan.FromSeconds(1))).Count);
        Assert.NotEqual(PartitionState.Holding, (await StatusAsync(cluster)).State);
    }

    [Fact]
    public async Task Hold_SurvivesTheDeactivationOfThePartitionGrain_WithoutALeaseChange()
    {
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 2));
        await using var cluster = await StartAsync<PoisonProcessor>(s => s.AddSingleton(log).AddSingleton(plan), FailureAction.Hold);
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 5).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);
        PartitionStatus? status = null;
        Assert.True(await Poll.UntilAsync(async () => (status = await StatusAsync(cluster)).State == PartitionState.Holding, TimeSpan.FromSeconds(20)), $"never held: {status}");
        var epoch = status!.LeaseEpoch;
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 2 });

        // The activation that held goes, as in idle collection or when a silo leaving takes the
        // grains whose directory entries it held; the lease stays.
        var activations = cluster.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<OrleansKafka.Leases.PartitionActivations>()).ToList();
        var key = PartitionGrainKey.Format(Group, Topic, 0);
        await Grain(cluster).AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        Assert.True(await Poll.UntilAsync(() => activations.All(a => !a.Contains(key)), TimeSpan.FromSeconds(20)), "the partition grain was not deactivated");

        // The next activation holds at the same record, and says why.
        status = await StatusAsync(cluster);
        Assert.Equal((PartitionState.Holding, 2L, "k2", epoch), (status.State, status.HeldOffset, status.HeldKey, status.LeaseEpoch));
        Assert.Contains("poison record at offset 2", status.LastError ?? status.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);

        await Grain(cluster).ResolveHoldAsync(HoldDecision.Skip);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 5 });
        Assert.Equal([0L, 1, 3, 4], log.Of(0).Select(r => r.Offset));
        Assert.Equal(PartitionState.Idle, (await StatusAsync(cluster)).State);
    }

    [Fact]
    public async Task Hold_SurvivesARestartOfTheCluster_WithADurableStore()
    {
        await using var redis = await RedisServer.StartAsync();
        using var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic(Topic, 1);
        kafka.CreateTopic(DeadLetters, 1);
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 2));
        var service = $"hold-{Guid.NewGuid():N}";
        await using (var first = await StartAsync<PoisonProcessor>(s => s.AddSingleton(log).AddSingleton(plan).AddRedisGrainStorage(KafkaStorage.Name, r => r.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.ConnectionString)), FailureAction.Hold, kafka, service))
        {
            await first.ProduceAsync(Topic, Enumerable.Range(0, 5).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);
            PartitionStatus? held = null;
            Assert.True(await Poll.UntilAsync(async () => (held = await StatusAsync(first)).State == PartitionState.Holding, TimeSpan.FromSeconds(20)), $"never held: {held}");
            await first.StopSilosAsync();
        }

        var attempts = plan.Attempts[2];
        await using var second = await StartAsync<PoisonProcessor>(s => s.AddSingleton(log).AddSingleton(plan).AddRedisGrainStorage(KafkaStorage.Name, r => r.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis.ConnectionString)), FailureAction.Hold, kafka, service);

        // The new cluster's owner holds at the same record without trying it again, and says why.
        PartitionStatus? status = null;
        Assert.True(await Poll.UntilAsync(async () => (status = await StatusAsync(second)).State == PartitionState.Holding, TimeSpan.FromSeconds(20)), $"the restarted cluster does not hold: {status}");
        Assert.Equal((2L, "k2"), (status!.HeldOffset, status.HeldKey));
        Assert.Contains("poison record at offset 2", status.LastError, StringComparison.Ordinal);
        Assert.Equal(attempts, plan.Attempts[2]);

        await Grain(second).ResolveHoldAsync(HoldDecision.Skip);
        await second.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 5 });
        Assert.Equal([0L, 1, 3, 4], log.Of(0).Select(r => r.Offset));
    }

    [Fact]
    public async Task ResolveHold_PartitionNotHolding_FailsWithAClearErrorAndChangesNothing()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync<RecordingProcessor>(s => s.AddSingleton(log), FailureAction.Hold);
        await cluster.ProduceAsync(Topic, [("k", "v")], partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 1 });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Grain(cluster).ResolveHoldAsync(HoldDecision.Skip));

        Assert.Contains($"Partition {PartitionGrainKey.Format(Group, Topic, 0)} is not holding a record", error.Message);
        Assert.Equal(1, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);
    }

    [Fact]
    public async Task ValueThatDoesNotDeserialize_IsNotRetried_AndGoesStraightToTheDeadLetterTopic()
    {
        var log = new RecordLog();
        await using var cluster = await StartAsync<JsonBatchProcessor>(s => s.AddSingleton(log), FailureAction.DeadLetter);

        await cluster.ProduceAsync(Topic, [("a", """{"sensor":"s1","value":1}"""), ("b", "not json"), ("c", """{"sensor":"s3","value":3}""")], partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 3 });

        var dead = Assert.Single(await cluster.Inspector.ReadAllAsync(DeadLetters));
        Assert.Equal("1", Header(dead, DeadLetterHeaders.Attempts));
        Assert.Equal("1", Header(dead, DeadLetterHeaders.SourceOffset));
        Assert.Equal(typeof(InvalidDataException).FullName, Header(dead, DeadLetterHeaders.ErrorType));
        Assert.Contains("does not deserialize to Measurement", Header(dead, DeadLetterHeaders.ErrorMessage));

        // The batch was narrowed to the failing record: the records around it were processed.
        Assert.Contains("c:s3:3", log.Of(0).Select(r => r.Value));
        Assert.Contains("a:s1:1", log.Of(0).Select(r => r.Value));
    }

    private static IPartitionGrain Grain(KafkaTestCluster cluster) =>
        cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 0));

    private static Task<PartitionStatus> StatusAsync(KafkaTestCluster cluster) => Grain(cluster).GetStatusAsync();

    private static string Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));

    private static Task<KafkaTestCluster> StartAsync<TProcessor>(Action<IServiceCollection> services, FailureAction onFailure, EmbeddedKafkaCluster? kafka = null, string? service = null)
        where TProcessor : class =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 1;
            o.ServiceId = service;
            o.Topics[Topic] = 1;
            o.Topics[DeadLetters] = 1;
            o.Services = services;
            o.Processors = p => p.AddProcessor<TProcessor>("under-test", x =>
            {
                x.Topic = Topic;
                x.Group = Group;
                x.MaxAttempts = 3;
                x.OnFailure = onFailure;
                x.FirstRetryDelay = TimeSpan.FromMilliseconds(10);
                x.MaxRetryDelay = TimeSpan.FromMilliseconds(50);
            });
        },
        kafka);
}
