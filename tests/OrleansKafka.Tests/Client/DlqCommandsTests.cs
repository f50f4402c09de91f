using System.Text;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Client;

/// <summary>
/// <c>dlq list</c> and <c>dlq redrive</c> as processes against the README's silo: records an outside
/// client (kcat) wrote that the demo's order-totals gives up on land in <c>demo-orders.dlq</c>; the
/// CLI lists them and sends them on with their original keys and values, each exactly once
/// however often it runs and however the runs' selections overlap.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class DlqCommandsTests
{
    private const string Dlq = "demo-orders.dlq";

    [Fact]
    public async Task Redrive_SendsEachDeadLetterOnce_ByKeyThenTheRest_AndARunAgainSendsNothing()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string>
        {
            ["Demo__Enabled"] = "false",
            ["Kafka__Processors__customer-totals__Enabled"] = "false",
            ["Kafka__Embedded__Topics__redriven"] = "1",
        });
        await silo.ProduceWithKcatAsync("demo-orders", 2, ["k1:not an order", "k2:{broken", "k1:still not an order"], ["trace=abc"]);
        var b = silo.BootstrapServers;

        JsonElement[] letters = [];
        Assert.True(
            await Poll.UntilAsync(async () => (letters = await ListAsync(b)).Length == 3, TimeSpan.FromSeconds(60)),
            $"the three records did not reach {Dlq}: {letters.Length}{Environment.NewLine}{silo.Process.Tail()}");
        Assert.All(letters, l => Assert.Equal("demo-orders", l.GetProperty("sourceTopic").GetString()));
        Assert.Equal(["0", "1", "2"], letters.Select(l => l.GetProperty("sourceOffset").GetString()).Order());
        Assert.All(letters, l => Assert.False(l.GetProperty("redriven").GetBoolean()));

        var (byKeyExit, byKey) = await Cli.RunAsync("dlq", "redrive", Dlq, "-b", b, "--key", "k1", "--to", "redriven", "--json");
        Assert.True(byKeyExit == 0, byKey);
        Assert.Equal(2, JsonDocument.Parse(byKey).RootElement.GetProperty("redriven").GetInt32());
        var (restExit, rest) = await Cli.RunAsync("dlq", "redrive", Dlq, "-b", b, "--to", "redriven", "--json");
        Assert.True(restExit == 0, rest);
        Assert.Equal(1, JsonDocument.Parse(rest).RootElement.GetProperty("redriven").GetInt32());
        var (againExit, again) = await Cli.RunAsync("dlq", "redrive", Dlq, "-b", b, "--to", "redriven", "--json");
        Assert.True(againExit == 0, again);
        Assert.Equal(0, JsonDocument.Parse(again).RootElement.GetProperty("redriven").GetInt32());

        using var kafka = new KafkaInspector(b, new Dictionary<string, int> { ["redriven"] = 1 });
        var records = await kafka.ReadAllAsync("redriven", TimeSpan.FromSeconds(5));
        Assert.Equal(["k1:not an order", "k1:still not an order", "k2:{broken"], records.Select(r => $"{Text(r.Message.Key)}:{Text(r.Message.Value)}").Order(StringComparer.Ordinal));
        Assert.All(records, r =>
        {
            var names = r.Message.Headers.Select(h => h.Key).ToList();
            Assert.Contains("trace", names);
            Assert.Contains("x-redrive-dlq-offset", names);
            Assert.DoesNotContain(names, n => n.StartsWith("x-dlq-", StringComparison.Ordinal));
        });
        Assert.All(await ListAsync(b), l => Assert.True(l.GetProperty("redriven").GetBoolean()));

        var (missingExit, missing) = await Cli.RunAsync("dlq", "list", "no-such.dlq", "-b", b);
        Assert.Equal(2, missingExit);
        Assert.Contains("Topic 'no-such.dlq' does not exist", missing);
    }

    private static async Task<JsonElement[]> ListAsync(string bootstrapServers)
    {
        var (exit, json) = await Cli.RunAsync("dlq", "list", Dlq, "-b", bootstrapServers, "--json");
        Assert.True(exit == 0, json);
        return JsonSerializer.Deserialize<JsonElement[]>(json)!;
    }

    private static string Text(byte[]? bytes) => bytes is null ? string.Empty : Encoding.UTF8.GetString(bytes);
}
