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

    [Fact]
    public async Task AHold_SurvivesTheHoldingSilosRestart_OnARedisStore_AndIsSkippedThere()
    {
        // One silo process, the embedded Kafka in a process of its own and Redis, so that Kafka
        // and the store outlive the silo.
        var options = new SiloProcessClusterOptions { Silos = 1 };
        options.Settings["Kafka__Processors__order-totals__OnFailure"] = "Hold";
        options.Settings["Kafka__Processors__customer-totals__Enabled"] = "false";
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12 });
        await kafka.ProduceAsync("demo-orders", [("bad", "this is not an order")], partition: 3);
        var first = cluster.Silos[0];
        var held = await HeldAsync(Gateway(first));
        var heldOffset = held.GetProperty("heldOffset").GetInt64();

        // SIGTERM: the silo stops gracefully; a new process takes the partition.
        first.Process.Terminate();
        await first.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var second = await cluster.StartSiloAsync();
        var again = await HeldAsync(Gateway(second));

        Assert.Equal(heldOffset, again.GetProperty("heldOffset").GetInt64());
        Assert.Equal("this is not an order", again.GetProperty("heldValue").GetString());
        Assert.Equal(held.GetProperty("lastError").GetString(), again.GetProperty("lastError").GetString());

        // The same hold, restored from the store, not the record failing again under the new owner.
        Assert.Equal(held.GetProperty("heldSince").GetString(), again.GetProperty("heldSince").GetString());
        Assert.NotEqual(held.GetProperty("leaseEpoch").GetInt64(), again.GetProperty("leaseEpoch").GetInt64());

        var (exitCode, output) = await Cli.RunAsync("skip", Group, "demo-orders", "3", "--gateway", Gateway(second));
        Assert.True(exitCode == 0, output);
        Assert.True(await Poll.UntilAsync(async () => (await kafka.CommittedOffsetsAsync(Group, "demo-orders"))[3] > heldOffset, TimeSpan.FromSeconds(30)), "the skip was not committed");
    }

    private static string Gateway(SiloProcess silo) => $"127.0.0.1:{silo.GatewayPort}";

    /// <summary>Partition 3's status once it holds, read with the CLI.</summary>
    private static async Task<JsonElement> HeldAsync(string gateway)
    {
        JsonElement held = default;
        Assert.True(await Poll.UntilAsync(
            async () => (held = await PartitionAsync(gateway, 3)).ValueKind == JsonValueKind.Object && held.GetProperty("state").GetString() == "Holding",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1)), $"partition 3 did not hold (last status: {held})");
        return held;
    }

    private static async Task<JsonElement> PartitionAsync(string gateway, int partition)
    {
        var (exitCode, output) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", gateway);
        return exitCode != 0 ? default : JsonSerializer.Deserialize<JsonElement[]>(output)!.FirstOrDefault(s => s.GetProperty("partition").GetInt32() == partition);
    }
}
