using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Partitions;
using OrleansKafka.Processing;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Processing.Failures;

/// <summary>
/// <c>OnFailure = HoldKey</c> on an in-process cluster and the embedded Kafka, at the transitions
/// around a held key: its activation replaced under the same lease, a pause, a seek.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class HoldKeyTests
{
    private const string Topic = "orders";
    private const string Group = "billing";

    /// <summary>
    /// The waiting records live in the activation's memory while the fetch goes past them: the
    /// next activation under the same lease restarts the partition from its commit to fetch them
    /// again. Before, it took the key's next record as the held one: a retry ran it first and the
    /// records that waited were lost.
    /// </summary>
    [Fact]
    public async Task TheActivationIsReplacedUnderTheSameLease_TheWaitingRecordsAreFetchedAgain_AndRunInOrderOnceRetried()
    {
        var script = new KeyScript("bad");
        await using var cluster = await StartAsync(script);
        await cluster.ProduceAsync(Topic, Records(0, 12), partition: 0);
        Assert.True(await Poll.UntilAsync(async () => (await StatusAsync(cluster)).RecordsWaiting == 4 && script.Completed("good").Count == 8, TimeSpan.FromSeconds(20)), $"not held: {await StatusAsync(cluster)}");

        await Grain(cluster).AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        await cluster.ProduceAsync(Topic, Records(12, 3), partition: 0);
        PartitionStatus? status = null;
        Assert.True(
            await Poll.UntilAsync(async () => (status = await StatusAsync(cluster)).RecordsWaiting == 5 && script.Completed("good").Distinct().Count() == 10, TimeSpan.FromSeconds(30)),
            $"the key's records did not wait again: {status}");
        Assert.Equal(0, Assert.Single(status!.HeldKeys).Offset);

        script.Mended = true;
        await Grain(cluster).ResolveKeyHoldAsync(0, HoldDecision.Retry);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 15 });
        Assert.Equal([0L, 3, 6, 9, 12], script.Completed("bad"));
    }

    [Fact]
    public async Task ADecisionWhilePaused_WaitsForTheResume()
    {
        var script = new KeyScript("bad");
        await using var cluster = await StartAsync(script);
        await cluster.ProduceAsync(Topic, Records(0, 6), partition: 0);
        Assert.True(await Poll.UntilAsync(async () => (await StatusAsync(cluster)).RecordsWaiting == 2, TimeSpan.FromSeconds(20)));

        await Grain(cluster).PauseAsync();
        script.Mended = true;
        await Grain(cluster).ResolveKeyHoldAsync(0, HoldDecision.Retry);
        Assert.False(await Poll.UntilAsync(() => script.Completed("bad").Count > 0, TimeSpan.FromSeconds(2)), "a paused partition ran the held key's records");
        Assert.Equal(0, (await cluster.CommittedOffsetsAsync(Group, Topic))[0]);

        await Grain(cluster).ResumeAsync();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 6 });
        Assert.Equal([0L, 3], script.Completed("bad"));
    }

    [Fact]
    public async Task ASeekPastTheHeldKey_LetsItGo()
    {
        var script = new KeyScript("bad");
        await using var cluster = await StartAsync(script);
        await cluster.ProduceAsync(Topic, Records(0, 6), partition: 0);
        Assert.True(await Poll.UntilAsync(async () => (await StatusAsync(cluster)).RecordsWaiting == 2, TimeSpan.FromSeconds(20)));

        Assert.Equal(6, await Grain(cluster).SeekAsync(PartitionSeek.End));
        PartitionStatus? status = null;
        Assert.True(await Poll.UntilAsync(async () => (status = await StatusAsync(cluster)) is { HeldKeys.Count: 0, RecordsWaiting: 0 }, TimeSpan.FromSeconds(20)), $"still held: {status}");
        // The held records were sought past: never run; the key runs again from the new offset on.
        script.Mended = true;
        await cluster.ProduceAsync(Topic, Records(6, 3), partition: 0);
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 9 });
        Assert.Empty((await StatusAsync(cluster)).HeldKeys);
        Assert.Equal([6L], script.Completed("bad"));
    }

    /// <summary>Keys "bad" and "good" in turn, bad every third record (offsets 0, 3, 6, ...).</summary>
    private static IEnumerable<(string?, string?)> Records(int from, int count) =>
        Enumerable.Range(from, count).Select(i => ((string?)(i % 3 == 0 ? "bad" : "good"), (string?)$"{i}"));

    private static Task<KafkaTestCluster> StartAsync(KeyScript script) =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 1;
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(script);
            o.Processors = p => p.AddProcessor<KeyScriptProcessor>("under-test", x =>
            {
                x.Topic = Topic;
                x.Group = Group;
                x.Order = ProcessingOrder.Key;
                x.MaxAttempts = 1;
                x.OnFailure = FailureAction.HoldKey;
            });
        });

    private static IPartitionGrain Grain(KafkaTestCluster cluster) => cluster.Client.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(Group, Topic, 0));

    private static async Task<PartitionStatus> StatusAsync(KafkaTestCluster cluster)
    {
        // A status from a stale activation says NotOwner; the owner's comes next.
        PartitionStatus status = null!;
        await Poll.UntilAsync(async () => (status = await Grain(cluster).GetStatusAsync()).State != PartitionState.NotOwner, TimeSpan.FromSeconds(10));
        return status;
    }

    /// <summary>Fails every record of its failing keys until mended; what completed, by key, in order.</summary>
    public sealed class KeyScript(params string[] failing)
    {
        private readonly ConcurrentQueue<(string Key, long Offset)> _completed = new();

        public volatile bool Mended;

        public void Run(string key, long offset)
        {
            if (!Mended && failing.Contains(key))
            {
                throw new InvalidOperationException($"key {key} fails");
            }

            _completed.Enqueue((key, offset));
        }

        public List<long> Completed(string key) => [.. _completed.Where(c => c.Key == key).Select(c => c.Offset)];
    }

    public sealed class KeyScriptProcessor(KeyScript script) : IRecordProcessor<string, string>
    {
        public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
        {
            script.Run(record.Key!, record.Context.Offset);
            return ValueTask.CompletedTask;
        }
    }
}
