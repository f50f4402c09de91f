using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Fetching;
using OrleansKafka.Processing;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Fetching;

/// <summary>The silo-wide buffer budget, on an in-process cluster with a backlog far larger than the budget.</summary>
[Trait("Category", "Kafka")]
public sealed class BufferBudgetTests
{
    private const string Topic = "backlog";
    private const string Group = "slow";
    private const int Partitions = 12;
    private const int PerPartition = 1000;
    private const long Budget = 4 << 20;

    [Fact]
    public async Task SlowProcessorAndALargeBacklog_HeldBytesStayNearTheBudget_AndEverythingIsProcessed()
    {
        await using var cluster = await StartAsync<SlowProcessor>(_ => { });

        // 12 × 1,000 records of 1 KiB: about 12 MiB waiting, three times the budget.
        await ProduceBacklogAsync(cluster, Enumerable.Range(0, Partitions));
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromMinutes(2));

        var budget = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<BufferBudget>();
        Assert.True(budget.PeakBytes < 2 * Budget, $"the silo held {budget.PeakBytes} bytes at its peak, against a budget of {Budget}");
        Assert.True(budget.PeakBytes >= Budget / 2, $"the peak of {budget.PeakBytes} bytes is far below the budget: the backlog did not test it");
    }

    [Fact]
    public async Task HalfThePartitionsHoldForAnOperator_TheirRecordsDoNotStarveTheOthers()
    {
        // Six partitions hold at their first record and keep what was fetched for them, until it
        // fills the budget. The fetch workers wait at the budget for records to be processed, and
        // these never are: the other six must still be fetched and processed.
        await using var cluster = await StartAsync<FirstRecordPoisonedInLowPartitions>(x =>
        {
            x.MaxAttempts = 1;
            x.OnFailure = OrleansKafka.Configuration.FailureAction.Hold;
        });

        // First the partitions that hold, until what they fetched fills the budget; then the others.
        var budget = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<BufferBudget>();
        await ProduceBacklogAsync(cluster, Enumerable.Range(0, Partitions / 2));
        Assert.True(await Poll.UntilAsync(() => budget.Bytes >= Budget, TimeSpan.FromSeconds(30)), $"the held partitions' records never filled the budget: {budget.Bytes} bytes");
        await ProduceBacklogAsync(cluster, Enumerable.Range(Partitions / 2, Partitions / 2));

        var healthy = Enumerable.Range(Partitions / 2, Partitions / 2).ToDictionary(p => p, _ => (long)PerPartition);
        await cluster.WaitForCommittedAsync(Group, Topic, healthy, TimeSpan.FromSeconds(60));
        var committed = await cluster.CommittedOffsetsAsync(Group, Topic);
        Assert.All(Enumerable.Range(0, Partitions / 2), p => Assert.True(committed.GetValueOrDefault(p, -1) <= 0, $"partition {p} committed {committed[p]} past its held record"));
    }

    [Fact]
    public async Task AKeyOrderedDeliveryInFlight_CountsTheClientObjectsItsGrainBuildsAtOnce()
    {
        // Key order builds a whole delivery's records at once; the serial path builds one at a time.
        var gate = new Gate();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = 1;
            o.Services = s => s.AddSingleton(gate);
            o.Processors = p => p.AddProcessor<GateProcessor>("gated", x => (x.Topic, x.Group, x.Order) = (Topic, Group, OrleansKafka.Configuration.ProcessingOrder.Key));
        });
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 64).Select(i => ((string?)$"key-{i}", (string?)"0123456789")), partition: 0);
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(!gate.Entered.IsEmpty), TimeSpan.FromSeconds(30)), "no record reached the processor");

        // Every record that entered the gate is in the delivery in flight, whose objects were built.
        var entered = gate.Entered.Count;
        var budget = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<BufferBudget>();
        Assert.True(budget.Bytes >= entered * 512L, $"{budget.Bytes} bytes counted while {entered} records of one delivery are being processed, their objects built");
        gate.Open.SetResult();
        await cluster.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = 64 });
    }

    private static Task<KafkaTestCluster> StartAsync<TProcessor>(Action<OrleansKafka.Configuration.ProcessorOptions> processor)
        where TProcessor : class =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = Partitions;
            o.Configure = k =>
            {
                k.SiloBufferBytes = Budget;

                // Fetches of 256 KiB per partition, so one fetch round is small beside the budget.
                k.Consumer["max.partition.fetch.bytes"] = $"{256 << 10}";
                k.Consumer["fetch.max.bytes"] = $"{1 << 20}";
            };
            o.Processors = p => p.AddProcessor<TProcessor>("under-test", x =>
            {
                (x.Topic, x.Group) = (Topic, Group);
                processor(x);
            });
        });

    /// <summary>1,000 records of 1 KiB to each of <paramref name="partitions"/>.</summary>
    private static Task ProduceBacklogAsync(KafkaTestCluster cluster, IEnumerable<int> partitions)
    {
        var value = new string('x', 1024);
        return Task.WhenAll(partitions.Select(p =>
            cluster.ProduceAsync(Topic, Enumerable.Range(0, PerPartition).Select(i => ((string?)$"k{i}", (string?)value)), p)));
    }

    /// <summary>Fails the first record of partitions 0 to 5, which then hold; passes every other.</summary>
    public sealed class FirstRecordPoisonedInLowPartitions : IRecordProcessor<string, string>
    {
        public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken) =>
            record.Context.Partition < Partitions / 2 && record.Context.Offset == 0
                ? throw new InvalidOperationException($"poison at {record.Context.Partition}/{record.Context.Offset}")
                : ValueTask.CompletedTask;
    }

    /// <summary>About a millisecond per record, so the backlog outgrows what is processed.</summary>
    public sealed class SlowProcessor : IRecordProcessor<string, string>
    {
        public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken) =>
            await Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None);
    }
}
