using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Processing;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Testing;

/// <summary>The test kit used the way a user tests their own processor.</summary>
[Trait("Category", "Kafka")]
public sealed class KafkaTestClusterTests
{
    [Fact]
    public async Task UserProcessor_CountsOrdersPerCustomer()
    {
        var totals = new ConcurrentDictionary<string, int>();
        await using var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["orders"] = 3;
            o.Services = s => s.AddSingleton(totals);
            o.Processors = p => p.AddProcessor<OrderCounter>("counter", x => { x.Topic = "orders"; x.Group = "counting"; });
        });

        await cluster.ProduceAsync("orders", [("alice", "1"), ("bob", "2"), ("alice", "3")]);
        await cluster.WaitForCommittedAsync("counting", "orders");

        Assert.Equal(2, totals["alice"]);
        Assert.Equal(1, totals["bob"]);
    }

    private sealed class OrderCounter(ConcurrentDictionary<string, int> totals) : IRecordProcessor<string, string>
    {
        public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
        {
            totals.AddOrUpdate(record.Key, 1, (_, n) => n + 1);
            return ValueTask.CompletedTask;
        }
    }
}
