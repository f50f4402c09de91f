using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Kafka;
using OrleansKafka.KeyGrains;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.KeyGrains;

/// <summary>Key grains on an in-process cluster of three silos: order per key, keys at once across silos, contiguous commits, epoch fencing, exactly-once state.</summary>
[Trait("Category", "Kafka")]
public sealed class KeyGrainTests
{
    private const string Group = "billing";
    private const string Topic = "orders";
    private const int UnleasedPartition = 9;

    [Fact]
    public async Task RecordsReachTheGrainOfTheirKey_InOrderPerKey_KeysConcurrentlyOnSeveralSilos()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate, silos: 3);

        // 30 keys, 10 records each, interleaved in one partition.
        var records = Enumerable.Range(0, 300).Select(i => ((string?)$"key-{i % 30}", (string?)$"{i}")).ToList();
        await cluster.ProduceAsync(Topic, records, partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

        for (var k = 0; k < 30; k++)
        {
            Assert.Equal(Enumerable.Range(0, 10).Select(n => (long)(k + (30 * n))), log.OffsetsOf($"key-{k}"));
        }

        Assert.True(log.MaxConcurrent > 1, "records of different keys never ran at the same time");
        Assert.True(log.Silos.Count >= 2, $"all key grains ran on one silo: {string.Join(", ", log.Silos)}");
    }

    [Fact]
    public async Task ARecordStillRunning_HoldsTheCommitBelowIt_WhileLaterKeysComplete()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());

        // Offset 0 waits at its grain; offsets 1-20 (other keys) finish. A delivery waits for all
        // its calls, so the later records must come in offset 0's delivery: in Kafka, in one
        // batch, before the cluster starts (produced after it, offset 0 was once fetched and
        // delivered alone, and nothing after it ran until it finished).
        using var kafka = await KafkaWithAsync([("slow", KeyGate.Value), .. Enumerable.Range(1, 20).Select(i => ((string?)$"key-{i}", (string?)$"{i}"))]);
        await using var cluster = await StartAsync(log, gate, silos: 2, kafka);
        Assert.True(await Poll.UntilAsync(() => log.Count == 20, TimeSpan.FromSeconds(30)), $"{log.Count} of the 20 later records completed");
        var committed = await cluster.CommittedOffsetsAsync(Group, Topic);
        Assert.True(committed.GetValueOrDefault(0, -1) <= 0, $"committed {committed.GetValueOrDefault(0, -1)} while offset 0 was still running");

        gate.Opened.SetResult();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 21 }, TimeSpan.FromSeconds(30));
        Assert.Equal([0L], log.OffsetsOf("slow"));
    }

    [Fact]
    public async Task AGracefulHandOver_WaitsForTheCallsAlreadySent_BeforeTheNextOwnerSendsAny()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());

        // The slow record last (offset 10): a delivery waits for all its calls, so a slow first
        // record would hold back whichever later records a fetch had not yet brought into its
        // delivery (seen under load: 3 of 10 done after 30 s). Ten other keys' records before it
        // complete whatever the deliveries, then its call waits at its grain.
        using var kafka = await KafkaWithAsync([.. Enumerable.Range(1, 10).Select(i => ((string?)$"key-{i}", (string?)$"{i}")), ("slow", KeyGate.Value)]);
        await using var cluster = await StartAsync(log, gate, silos: 2, kafka);
        Assert.True(await Poll.UntilAsync(() => gate.Entered == 1 && log.Count == 10, TimeSpan.FromSeconds(30)), $"the slow record (offset 10) entered {gate.Entered} times, {log.Count} of the 10 records before it done");
        var partition = cluster.Client.GetPartitionGrain(Group, Topic, 0);
        var before = await partition.GetStatusAsync();
        var other = cluster.Cluster.Silos.Select(s => OrleansKafka.LeaseProtocol.SiloIdentity.Of(s.SiloAddress)).First(s => s != before.Silo);

        // An operator moves the partition while the call at offset 10 still runs at its grain, for
        // longer than a lease (3 s here): the old owner waits for it, and the lease grain renews
        // the draining lease, so nothing is sent under a newer lease meanwhile (before, the call
        // was abandoned, and the next owner sent the keys their records again at once).
        await partition.MoveAsync(other);
        var sentMeanwhile = await Poll.UntilAsync(() => log.Calls.Any(c => c.Epoch > before.LeaseEpoch), TimeSpan.FromSeconds(5));
        gate.Opened.SetResult();
        Assert.True(await Poll.UntilAsync(async () => (await partition.GetStatusAsync()) is { Silo: var silo, State: not PartitionState.NotOwner } && silo == other, TimeSpan.FromSeconds(30)), "the partition never moved");

        Assert.False(sentMeanwhile, "a record was sent under the new lease while a call of the old one still ran");
        var oldEnded = log.Calls.Where(c => c.Epoch == before.LeaseEpoch).Max(c => c.End);
        Assert.All(log.Calls.Where(c => c.Epoch > before.LeaseEpoch), c => Assert.True(c.Start >= oldEnded, "a call under the new lease began before the old lease's last call ended"));
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 11 }, TimeSpan.FromSeconds(30));

        // What the old owner finished while it gave the partition up was committed: nothing is sent twice.
        Assert.DoesNotContain(log.Calls, c => c.Epoch > before.LeaseEpoch);
    }

    [Fact]
    public async Task AKeyGrain_RefusesARecordSentUnderAnOlderEpochOfTheSamePartition()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate, silos: 1);
        var grain = cluster.Client.GetGrain<IRecordingKeyGrain>("fenced");

        // The silo holds its own lease of the topic's partition 0 meanwhile (a real epoch): the
        // records below are of other partitions, judged by what the grain has seen alone.
        var owned = cluster.Client.GetPartitionGrain(Group, Topic, 0);
        Assert.True(await Poll.UntilAsync(async () => (await owned.GetStatusAsync()).State != PartitionState.NotOwner, TimeSpan.FromSeconds(30)), "the silo never took partition 0");

        await grain.ProcessAsync(Record("fenced", offset: 10, epoch: 7));
        var refused = await Assert.ThrowsAsync<StaleLeaseEpochException>(() => grain.ProcessAsync(Record("fenced", offset: 11, epoch: 6)));
        Assert.Contains("lease epoch 6", refused.Message);
        await grain.ProcessAsync(Record("fenced", offset: 12, epoch: 7));
        await grain.ProcessAsync(Record("fenced", offset: 3, epoch: 1, partition: 5)); // another partition has its own epochs

        Assert.Equal([10L, 12L, 3L], log.OffsetsOf("fenced"));
    }

    [Fact]
    public async Task AKeyGrain_RefusesARecordSentUnderALeaseThatEndedOnItsOwnSilo()
    {
        // What a frozen owner had queued at grains on its own silo: after the thaw its lease has
        // run out (by this silo's clock), a new owner may have begun, and the call must not run.
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate, silos: 1);
        var leases = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<OrleansKafka.Leases.LeaseTable>();
        var time = TimeProvider.System;
        var lease = new OrleansKafka.Leases.LocalLease(Group, new TopicPartition(Topic, 3), 4, time.GetTimestamp() + (60 * time.TimestampFrequency), time);
        leases.Add(lease);
        var grain = cluster.Client.GetGrain<IRecordingKeyGrain>("queued");

        await grain.ProcessAsync(Record("queued", offset: 1, epoch: 4, partition: 3));
        lease.Lose();
        var refused = await Assert.ThrowsAsync<StaleLeaseEpochException>(() => grain.ProcessAsync(Record("queued", offset: 2, epoch: 4, partition: 3)));
        Assert.Contains("lease epoch 4, which this silo held and has ended", refused.Message);
        leases.Remove(lease);
        await Assert.ThrowsAsync<StaleLeaseEpochException>(() => grain.ProcessAsync(Record("queued", offset: 2, epoch: 4, partition: 3)));
        await grain.ProcessAsync(Record("queued", offset: 2, epoch: 5, partition: 3)); // the next owner's, from anywhere

        Assert.Equal([1L, 2L], log.OffsetsOf("queued"));
        Assert.Equal([4L, 5L], log.Calls.Select(c => c.Epoch));
    }

    [Fact]
    public async Task AKeyGrainWithState_AppliesEachOffsetOnce_AndDropsWhatAFailedRecordChanged()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate, silos: 1);
        var grain = cluster.Client.GetGrain<ICountingKeyGrain>("counted");

        await grain.ProcessAsync(Record("counted", offset: 5, epoch: 1));
        await grain.ProcessAsync(Record("counted", offset: 6, epoch: 1));
        await grain.ProcessAsync(Record("counted", offset: 6, epoch: 2)); // redelivered by a new owner
        await grain.ProcessAsync(Record("counted", offset: 4, epoch: 2));
        await Assert.ThrowsAsync<InvalidOperationException>(() => grain.ProcessAsync(Record("counted", offset: 7, epoch: 2, value: "fail")));
        await grain.ProcessAsync(Record("counted", offset: 8, epoch: 2));

        var tally = await grain.GetTallyAsync();
        Assert.Equal(3, tally.Count);
        Assert.Equal([5L, 6L, 8L], tally.Offsets);
    }

    [Fact]
    public async Task AKeyGrainWithState_WhoseStorageIsDown_FailsEveryTryOfARecord_RatherThanAcknowledgingItUnstored()
    {
        await using var redis = await RedisServer.StartAsync();
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(log).AddSingleton(gate)
                .AddRedisGrainStorage(KafkaStorage.Name, r => r.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse($"{redis.ConnectionString},connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000"));
        });
        var grain = cluster.Client.GetGrain<ICountingKeyGrain>("stored");
        await grain.ProcessAsync(Record("stored", offset: 5, epoch: 1));

        await redis.DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => grain.ProcessAsync(Record("stored", offset: 6, epoch: 1)));

        // The runner's next try of the same record: it is not in storage, so it must not succeed.
        await Assert.ThrowsAnyAsync<Exception>(() => grain.ProcessAsync(Record("stored", offset: 6, epoch: 1)));
    }

    [Fact]
    public async Task KeysThatNameOneIntegerGrain_WaitForEachOther_SoARetriedRecordIsNotSkippedAsApplied()
    {
        // "01" and "1" name grain 1. Offset 0 fails once and is retried; offset 1 must wait for it,
        // or the grain applies 1 first and then skips the retried 0 as already applied.
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(new FailOnce());
            o.Processors = p => p.AddKeyGrain<ICountingIntegerKeyGrain>("counter", x => { x.Topic = Topic; x.Group = Group; x.FirstRetryDelay = TimeSpan.FromMilliseconds(200); });
        });

        await cluster.ProduceAsync(Topic, [("01", "fail-once"), ("1", "second"), ("+1", "third")], partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(30));

        var tally = await cluster.Client.GetGrain<ICountingIntegerKeyGrain>(1).GetTallyAsync();
        Assert.Equal([0L, 1L, 2L], tally.Offsets);
    }

    [Fact]
    public async Task AKeysRecordsOfADelivery_GoInFewerCalls_AndOneThatFailsPartWay_HasItsAttemptsAlone_WithoutTheCompletedOnesRunningAgain()
    {
        // Ten records of one key, in one delivery: they go to the grain together (once a first
        // call has shown the grain is fast). The fifth always fails: the four before it completed
        // and must not run again; it gets exactly its three attempts (the one in the shared call
        // counts), is skipped, and the rest run after it.
        var log = new AttemptLog();
        using var kafka = await KafkaWithAsync([("warm-up", "w")]);
        await using var cluster = await KafkaTestCluster.StartAsync(
            o =>
            {
                o.Topics[Topic] = 1;
                o.Services = s => s.AddSingleton(log).AddSingleton<IIncomingGrainCallFilter>(log);
                o.Processors = p => p.AddKeyGrain<IAttemptsKeyGrain>("attempts", x =>
                {
                    x.Topic = Topic;
                    x.Group = Group;
                    x.MaxAttempts = 3;
                    x.FirstRetryDelay = TimeSpan.FromMilliseconds(10);
                    x.OnFailure = OrleansKafka.Configuration.FailureAction.Skip;
                });
            },
            kafka);

        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 1 }, TimeSpan.FromSeconds(30));
        var warmUpCalls = log.Calls;
        await cluster.ProduceAsync(Topic, [.. Enumerable.Range(1, 10).Select(i => ((string?)"k", (string?)(i == 5 ? "fail" : $"{i}")))], partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 11 }, TimeSpan.FromSeconds(30));

        Assert.Equal([0L, 1L, 2L, 3L, 4L, 5L, 5L, 5L, 6L, 7L, 8L, 9L, 10L], log.Runs);
        Assert.True(log.Calls - warmUpCalls < 10, $"{log.Calls - warmUpCalls} grain calls for ten records of one key");
    }

    [Fact]
    public async Task AKeyGrainWhoseValuesOrleansCannotSerialize_StopsStartUp_NamingTheProcessorAndTheType()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Processors = p => p.AddKeyGrain<IUnserializableKeyGrain>("orders", x => { x.Topic = Topic; x.Group = Group; });
        }));

        var message = string.Join(" | ", ExceptionChain.Messages(failure));
        Assert.Contains("Kafka:Processors:orders: key grain IUnserializableKeyGrain takes values of type OrleansKafka.Tests.Support.UnserializableOrder, which Orleans cannot serialize", message);
    }

    /// <summary>
    /// A record sent straight to a key grain. Its partition defaults to one the test topic does not
    /// have: the silo's own lease of partition 0 has a real epoch (taken from the wall clock, far
    /// above these), and once the silo held it, <see cref="OrleansKafka.Leases.LeaseTable.HasEnded"/>
    /// rightly refused every smaller epoch of that partition (fresh CI failed so, whenever the
    /// lease came before the test's first call).
    /// </summary>
    private static KeyedRecord<string> Record(string key, long offset, long epoch, int partition = UnleasedPartition, string value = "v") => new()
    {
        Key = key,
        Value = value,
        ConsumerGroup = Group,
        Topic = Topic,
        Partition = partition,
        Offset = offset,
        Timestamp = DateTimeOffset.UnixEpoch,
        Headers = [],
        LeaseEpoch = epoch,
    };

    /// <summary>An embedded Kafka with the test topic holding <paramref name="records"/> in partition 0, produced as one batch.</summary>
    private static async Task<EmbeddedKafkaCluster> KafkaWithAsync(List<(string? Key, string? Value)> records)
    {
        var kafka = EmbeddedKafkaCluster.Start();
        kafka.CreateTopic(Topic, 1);
        using var producer = new ProducerBuilder<string?, string?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 200 }).Build();
        var sent = records.Select(r => producer.ProduceAsync(new TopicPartition(Topic, 0), new Message<string?, string?> { Key = r.Key, Value = r.Value })).ToList();
        producer.Flush(TimeSpan.FromSeconds(10));
        await Task.WhenAll(sent);
        return kafka;
    }

    [Fact]
    public async Task GrainReferences_MadeOnce_AreTheReferencesOrleansMakes_ForStringAndIntegerKeysAndTheBatchInterface()
    {
        var (log, gate) = (new KeyGrainLog(), new KeyGate());
        await using var cluster = await StartAsync(log, gate, silos: 1);
        var services = cluster.Cluster.Silos[0].ServiceProvider;
        var grains = services.GetRequiredService<IGrainFactory>();

        var byString = new GrainReferences(grains, services, typeof(IRecordingKeyGrain));
        var byInteger = new GrainReferences(grains, services, typeof(ICountingIntegerKeyGrain));
        var batches = new GrainReferences(grains, services, typeof(IKeyGrainBatch));
        Assert.True(byString.KnowsGrainClass && byInteger.KnowsGrainClass, "the key grain classes were not found once: every reference goes through Orleans' own resolution");
        var stringGrain = byString.Of("customer-7");
        var integerGrain = byInteger.Of(-42);

        Assert.Equal(grains.GetGrain<IRecordingKeyGrain>("customer-7").GetGrainId(), stringGrain.GetGrainId());
        Assert.IsAssignableFrom<IRecordingKeyGrain>(stringGrain);
        Assert.Equal(grains.GetGrain<ICountingIntegerKeyGrain>(-42).GetGrainId(), integerGrain.GetGrainId());
        var batch = batches.Of(stringGrain.GetGrainId());
        Assert.IsAssignableFrom<IKeyGrainBatch>(batch);
        Assert.Equal(stringGrain.AsReference<IKeyGrainBatch>(), batch);
        Assert.Throws<ArgumentException>(() => byString.Of(" "));
    }

    private static Task<KafkaTestCluster> StartAsync(KeyGrainLog log, KeyGate gate, int silos, EmbeddedKafkaCluster? kafka = null)
    {
        void Configure(KafkaTestClusterOptions o)
        {
            o.Silos = silos;
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(log).AddSingleton(gate);
            o.Processors = p => p.AddKeyGrain<IRecordingKeyGrain>("recorder", x => { x.Topic = Topic; x.Group = Group; x.MaxInFlight = 50; });
        }

        return kafka is null ? KafkaTestCluster.StartAsync(Configure) : KafkaTestCluster.StartAsync(Configure, kafka);
    }
}
