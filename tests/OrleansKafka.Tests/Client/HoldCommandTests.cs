using System.Diagnostics;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
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
        var ports = LoopbackPorts.Free(3);
        await using var silo = ChildProcess.Start("silo", "dotnet", [SiloHostAssembly.Locate()], new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = $"{ports[0]}",
            ["Silo__GatewayPort"] = $"{ports[1]}",
            ["Dashboard__Urls"] = $"http://127.0.0.1:{ports[2]}",
            ["Kafka__Processors__order-totals__OnFailure"] = "Hold",
        });
        var bootstrap = (await silo.WaitForOutputAsync(new("bootstrap servers: ([^;]+);"), TimeSpan.FromSeconds(60))).Groups[1].Value;
        await silo.WaitForOutputAsync(new("Application started"), TimeSpan.FromSeconds(60));
        var gateway = $"127.0.0.1:{ports[1]}";

        using (var kcat = Process.Start(new ProcessStartInfo("kcat", ["-P", "-b", bootstrap, "-t", "demo-orders", "-p", "3", "-K", ":"]) { RedirectStandardInput = true, UseShellExecute = false })!)
        {
            await kcat.StandardInput.WriteLineAsync("bad:this is not an order");
            kcat.StandardInput.Close();
            await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        JsonElement held = default;
        Assert.True(await Poll.UntilAsync(
            async () => (held = await PartitionAsync(gateway, 3)).ValueKind == JsonValueKind.Object && held.GetProperty("state").GetString() == "Holding",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1)), $"partition 3 did not hold:{Environment.NewLine}{silo.Tail()}");
        var heldOffset = held.GetProperty("heldOffset").GetInt64();
        Assert.Equal("this is not an order", held.GetProperty("heldValue").GetString());

        var (exitCode, output) = await Cli.RunAsync("skip", Group, "demo-orders", "3", "--gateway", gateway);

        Assert.True(exitCode == 0, output);
        using var kafka = new KafkaInspector(bootstrap, new Dictionary<string, int> { ["demo-orders"] = 12 });
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
