using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Fetching;
using OrleansKafka.Processing;
using OrleansKafka.Testing;

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
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics[Topic] = Partitions;
            o.Configure = k =>
            {
                k.SiloBufferBytes = Budget;

                // Fetches of 256 KiB per partition, so one fetch round is small beside the budget.
                k.Consumer["max.partition.fetch.bytes"] = $"{256 << 10}";
                k.Consumer["fetch.max.bytes"] = $"{1 << 20}";
            };
            o.Processors = p => p.AddProcessor<SlowProcessor>("slow", x => { x.Topic = Topic; x.Group = Group; });
        });

        // 12 × 1,000 records of 1 KiB: about 12 MiB waiting, three times the budget.
        var value = new string('x', 1024);
        await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p =>
            cluster.ProduceAsync(Topic, Enumerable.Range(0, PerPartition).Select(i => ((string?)$"k{i}", (string?)value)), p)));
        await cluster.WaitForCommittedAsync(Group, Topic, TimeSpan.FromMinutes(2));

        var budget = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<BufferBudget>();
        Assert.True(budget.PeakBytes < 2 * Budget, $"the silo held {budget.PeakBytes} bytes at its peak, against a budget of {Budget}");
        Assert.True(budget.PeakBytes >= Budget / 2, $"the peak of {budget.PeakBytes} bytes is far below the budget: the backlog did not test it");
    }

    /// <summary>About a millisecond per record, so the backlog outgrows what is processed.</summary>
    public sealed class SlowProcessor : IRecordProcessor<string, string>
    {
        public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken) =>
            await Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None);
    }
}
