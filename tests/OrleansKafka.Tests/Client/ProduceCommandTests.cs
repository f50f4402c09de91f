using System.Diagnostics;
using System.Text;
using System.Text.Json;
using OrleansKafka.Silo.Demo;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Client;

/// <summary>The CLI's load producer run as a user runs it: a process against the embedded Kafka of a silo host process.</summary>
[Trait("Category", "Kafka")]
public sealed class ProduceCommandTests
{
    [Fact]
    public async Task ProduceJson_ToTheDemoTopic_WritesEveryRecordWithTheKeysAsked_AsOrdersTheDemoReads_AndAnUnknownTopicFailsWithExitCode2()
    {
        // No demo traffic: every record on demo-orders is the CLI's.
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12, ["demo-orders.dlq"] = 1 });
        var before = (await kafka.HighWatermarksAsync("demo-orders")).Values.Sum();

        var (exitCode, output) = await Cli.RunAsync("produce", "demo-orders", "--count", "500", "--key-count", "7", "-b", silo.BootstrapServers, "--json");

        Assert.True(exitCode == 0, $"exit code {exitCode}:{Environment.NewLine}{output}");
        var summary = JsonSerializer.Deserialize<JsonElement>(output.Split('\n').Last(line => line.TrimStart().StartsWith('{')));
        Assert.Equal("demo-orders", summary.GetProperty("topic").GetString());
        Assert.Equal(500, summary.GetProperty("produced").GetInt64());
        Assert.Equal(0, summary.GetProperty("failed").GetInt64());
        Assert.True(summary.GetProperty("seconds").GetDouble() > 0, output);
        Assert.True(summary.GetProperty("recordsPerSecond").GetDouble() > 0, output);
        Assert.Equal(before + 500, (await kafka.HighWatermarksAsync("demo-orders")).Values.Sum());

        // Seven keys round robin over 500 records; every value is an order for its key.
        var records = await kafka.ReadAllAsync("demo-orders");
        Assert.Equal(500, records.Count);
        var byKey = records.GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Enumerable.Range(0, 7).Select(k => $"key-{k}"), byKey.Keys.Order());
        Assert.All(byKey.Values, n => Assert.InRange(n, 71, 72));
        Assert.All(records, r =>
        {
            var order = JsonSerializer.Deserialize<DemoOrder>(r.Message.Value!, JsonSerializerOptions.Web)!;
            Assert.Equal(Encoding.UTF8.GetString(r.Message.Key!), order.Customer);
            Assert.InRange(order.OrderId, 1, 500);
            Assert.Equal(100, r.Message.Value!.Length);
        });

        // The demo's order-totals processor takes them all: committed up to the end, nothing dead-lettered.
        await kafka.WaitForCommittedAsync("demo-order-totals", "demo-orders");
        Assert.Equal(0, (await kafka.HighWatermarksAsync("demo-orders.dlq")).Values.Sum());

        // A topic the cluster does not have (the embedded Kafka would create one for a client that lets it): named, exit code 2.
        var (unknownExit, unknownOutput) = await Cli.RunAsync("produce", "no-such-topic", "--count", "1", "-b", silo.BootstrapServers, "--json");

        Assert.Equal(2, unknownExit);
        Assert.Contains($"Topic 'no-such-topic' does not exist on {silo.BootstrapServers}", unknownOutput.ReplaceLineEndings(" "));
    }

    [Fact]
    public async Task Produce_NoKafkaAtTheAddress_FailsWithinSecondsWithExitCode2AndSaysWhy_AsDoesABadCount()
    {
        var port = LoopbackPorts.Free(1)[0];
        var clock = Stopwatch.StartNew();

        var (exitCode, output) = await Cli.RunAsync("produce", "demo-orders", "-b", $"127.0.0.1:{port}");

        Assert.Equal(2, exitCode);
        Assert.Contains($"Could not reach Kafka at 127.0.0.1:{port} within 5 s", output.ReplaceLineEndings(" "));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the CLI took {clock.Elapsed} to give up");

        (exitCode, output) = await Cli.RunAsync("produce", "demo-orders", "--count", "0", "-b", $"127.0.0.1:{port}");

        Assert.Equal(2, exitCode);
        Assert.Contains("--count is 0", output);
    }
}
