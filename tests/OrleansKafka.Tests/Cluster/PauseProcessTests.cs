using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>
/// An operator's pause through the CLI, against silo processes on the Redis or PostgreSQL store
/// (which also keeps the partition grains' state): it holds when the owner is SIGKILLed and the
/// partition moves, and the history says where it went and why.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class PauseProcessTests
{
    private const string Group = "demo-forwarder";
    private const string Topic = "demo-orders";
    private const int Paused = 3;

    [Theory]
    [InlineData(SiloProcessStore.Redis)]
    [InlineData(SiloProcessStore.Postgres)]
    public async Task PauseFromTheCli_HoldsAcrossTheOwnersSigkill_OnTheSiloThatTakesThePartition_UntilResumed(SiloProcessStore store)
    {
        var options = new SiloProcessClusterOptions { Silos = 2, Store = store };
        options.Settings["Kafka__Processors__order-totals__Enabled"] = "false";
        options.Settings["Kafka__Processors__customer-totals__Enabled"] = "false";
        options.Settings["Kafka__Processors__kafka__Enabled"] = "false";

        // The owner that is killed is read once: partitions spread by number stay where they are,
        // while by load a rebalance may move this one first (fresh-ci saw its history gain a move).
        options.Settings["Kafka__Placement__BalanceBy"] = "Count";
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 12, ["demo-orders-forwarded"] = 12 });
        await kafka.ProduceAsync(Topic, Records(0, 240));
        await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

        var ownerEndpoint = StatusOf(await StatusAsync(cluster.Silos[0])).Silo;
        var owner = cluster.Silos.Single(s => s.Endpoint == ownerEndpoint);
        var survivor = cluster.Silos.Single(s => s != owner);
        var (pauseExit, pauseOutput) = await Cli.RunAsync("pause", Group, Topic, $"{Paused}", "--gateway", Gateway(survivor));
        Assert.True(pauseExit == 0, pauseOutput);
        var pausedAt = (await kafka.CommittedOffsetsAsync(Group, Topic))[Paused];

        // Records keep coming; every other partition commits them, the paused one nothing.
        await kafka.ProduceAsync(Topic, Records(240, 240));
        await kafka.WaitForCommittedAsync(Group, Topic, AllBut(await kafka.HighWatermarksAsync(Topic)), TimeSpan.FromSeconds(60));
        Assert.Equal(pausedAt, (await kafka.CommittedOffsetsAsync(Group, Topic))[Paused]);

        // The owner dies; the survivor takes the partition over, paused.
        owner.Process.KillHard();
        await kafka.ProduceAsync(Topic, Records(480, 120));
        await kafka.WaitForCommittedAsync(Group, Topic, AllBut(await kafka.HighWatermarksAsync(Topic)), TimeSpan.FromSeconds(60));
        Assert.True(
            await Poll.UntilAsync(async () => StatusOf(await StatusAsync(survivor)) is { Silo: var silo, State: "Paused" } && silo == survivor.Endpoint, TimeSpan.FromSeconds(30)),
            $"partition {Paused} is not paused on the survivor: {StatusOf(await StatusAsync(survivor))}");
        Assert.Equal(pausedAt, (await kafka.CommittedOffsetsAsync(Group, Topic))[Paused]);

        var (historyExit, historyJson) = await Cli.RunAsync("history", Group, Topic, $"{Paused}", "--json", "--gateway", Gateway(survivor));
        Assert.True(historyExit == 0, historyJson);
        var history = JsonSerializer.Deserialize<JsonElement[]>(historyJson)!;
        Assert.Equal(owner.Endpoint, history[^2].GetProperty("silo").GetString());
        Assert.Equal(survivor.Endpoint, history[^1].GetProperty("silo").GetString());
        Assert.Contains(history[^1].GetProperty("reason").GetString(), new[] { "Death", "Expiry" });
        Assert.True(history[^1].GetProperty("epoch").GetInt64() > history[^2].GetProperty("epoch").GetInt64());

        var (resumeExit, resumeOutput) = await Cli.RunAsync("resume", Group, Topic, $"{Paused}", "--gateway", Gateway(survivor));
        Assert.True(resumeExit == 0, resumeOutput);
        await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

        var (unknownExit, unknownOutput) = await Cli.RunAsync("pause", Group, Topic, "99", "--gateway", Gateway(survivor));
        Assert.Equal(2, unknownExit);
        Assert.Contains($"no partition {Group}/{Topic}/99 is known to the cluster", unknownOutput);
    }

    private static string Gateway(SiloProcess silo) => $"127.0.0.1:{silo.GatewayPort}";

    private static async Task<JsonElement[]> StatusAsync(SiloProcess through)
    {
        var (exitCode, output) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", Gateway(through));
        return exitCode == 0 ? JsonSerializer.Deserialize<JsonElement[]>(output)! : throw new InvalidOperationException(output);
    }

    private static (string? Silo, string? State) StatusOf(JsonElement[] statuses)
    {
        var status = statuses.Single(s => s.GetProperty("partition").GetInt32() == Paused);
        return (status.GetProperty("silo").GetString(), status.GetProperty("state").GetString());
    }

    private static Dictionary<int, long> AllBut(Dictionary<int, long> highWatermarks) =>
        highWatermarks.Where(h => h.Key != Paused).ToDictionary();

    private static IEnumerable<(string?, string?)> Records(int from, int count) =>
        Enumerable.Range(from, count).Select(i => ((string?)$"key-{i}", (string?)$"value-{i}"));
}
