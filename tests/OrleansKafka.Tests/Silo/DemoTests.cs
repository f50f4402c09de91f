using System.Text;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>The README's silo, as a newcomer runs it, fed by an outside Kafka client.</summary>
[Trait("Category", "Kafka")]
public sealed class DemoTests
{
    private const string OrderTotalsGroup = "demo-order-totals";

    [Fact]
    public async Task ADefaultStart_WritesNoClientConfigurationWarningAndNoGcNote()
    {
        // A newcomer reads any warning at start as a fault: librdkafka warned for every producer
        // given the embedded cluster's consumer setting (fetch.wait.max.ms), and Orleans noted
        // that the silo does not run server GC.
        await using var silo = await SiloHost.StartAsync();
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12 });

        // By then every client of the demo is made: its traffic's producer, the forwarder's, and
        // the stream grains' (they forward what the demo-streams group delivers).
        await kafka.WaitForCommittedAsync("demo-forwarder", "demo-orders", TimeSpan.FromSeconds(60));
        await kafka.WaitForCommittedAsync("demo-streams", "demo-orders", TimeSpan.FromSeconds(60));

        var output = silo.Process.Output.ToList();
        Assert.DoesNotContain(output, l => l.Contains("CONFWARN", StringComparison.Ordinal));
        Assert.DoesNotContain(output, l => l.Contains("ServerGC", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlainTextProducedWithKcat_OrderTotalsDeadLettersEachRecordAndGoesOn()
    {
        await using var silo = await SiloHost.StartAsync();
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12, ["demo-orders.dlq"] = 1 });

        // 20 records that are not JSON orders, from another process, to partition 3.
        await silo.ProduceWithKcatAsync("demo-orders", 3, Enumerable.Range(0, 20).Select(i => $"kcat-{i}:not an order {i}"));

        // The partition goes on past them (the demo keeps producing to it too), and each lands in the dead-letter topic.
        await kafka.WaitForCommittedAsync(OrderTotalsGroup, "demo-orders", TimeSpan.FromSeconds(60));
        var dead = await kafka.ReadAllAsync("demo-orders.dlq");
        var deadValues = dead.Select(r => Encoding.UTF8.GetString(r.Message.Value!)).ToHashSet();
        Assert.True(Enumerable.Range(0, 20).All(i => deadValues.Contains($"not an order {i}")), $"dead-lettered: {string.Join(", ", deadValues)}{Environment.NewLine}{silo.Process.Tail()}");
        Assert.All(dead, r => Assert.Equal("1", Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("x-dlq-attempts"))));
        Assert.False(silo.Process.HasExited, silo.Process.Tail());
    }
}
