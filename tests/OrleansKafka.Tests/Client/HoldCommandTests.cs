using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Client;

/// <summary>An operator resolving a held record with the CLI, against a silo host process.</summary>
[Trait("Category", "Kafka")]
public sealed class HoldCommandTests
{
    private const string Group = "demo-order-totals";

    [Fact]
    public async Task Skip_OnAPartitionHoldingAMalformedRecord_CommitsPastItAndProcessingGoesOn_ASecondSkipFails()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Kafka__Processors__order-totals__OnFailure"] = "Hold" });
        var gateway = silo.Gateway;
        await silo.ProduceWithKcatAsync("demo-orders", 3, ["bad:this is not an order"]);

        JsonElement held = default;
        Assert.True(await Poll.UntilAsync(
            async () => (held = await PartitionAsync(gateway, 3)).ValueKind == JsonValueKind.Object && held.GetProperty("state").GetString() == "Holding",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1)), $"partition 3 did not hold:{Environment.NewLine}{silo.Process.Tail()}");
        var heldOffset = held.GetProperty("heldOffset").GetInt64();
        Assert.Equal("this is not an order", held.GetProperty("heldValue").GetString());

        var (exitCode, output) = await Cli.RunAsync("skip", Group, "demo-orders", "3", "--gateway", gateway);

        Assert.True(exitCode == 0, output);
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12 });
        Assert.True(await Poll.UntilAsync(async () => (await kafka.CommittedOffsetsAsync(Group, "demo-orders"))[3] > heldOffset, TimeSpan.FromSeconds(30)), "the skip was not committed");
        Assert.NotEqual("Holding", (await PartitionAsync(gateway, 3)).GetProperty("state").GetString());

        (exitCode, output) = await Cli.RunAsync("skip", Group, "demo-orders", "3", "--gateway", gateway);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("is not holding a record", output.ReplaceLineEndings(" "));
    }

    private static async Task<JsonElement> PartitionAsync(string gateway, int partition)
    {
        var (exitCode, output) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", gateway);
        return exitCode != 0 ? default : JsonSerializer.Deserialize<JsonElement[]>(output)!.FirstOrDefault(s => s.GetProperty("partition").GetInt32() == partition);
    }
}
