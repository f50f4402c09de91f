using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Client;

/// <summary>The operator CLI run as a user runs it: a process against a silo host process with the default settings.</summary>
[Trait("Category", "Kafka")]
public sealed class StatusCommandTests
{
    [Fact]
    public async Task StatusJson_AgainstTheDefaultSiloHost_ListsEveryPartitionOfTheDemoGroups_HeldByThatSilo_WithOrderTotalsState()
    {
        await using var silo = await SiloHost.StartAsync();

        JsonElement[] statuses = [];
        var cliOutput = string.Empty;
        var listed = await Poll.UntilAsync(
            async () =>
            {
                (var exitCode, cliOutput) = await Cli.RunAsync("status", "--json", "--gateway", silo.Gateway);
                statuses = exitCode == 0 ? JsonSerializer.Deserialize<JsonElement[]>(cliOutput)! : [];
                return statuses.Length == 48 && statuses.All(s => s.GetProperty("state").GetString() is "Idle" or "Processing");
            },
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1));

        Assert.True(listed, $"the CLI did not list 48 partitions held by the silo; last output:{Environment.NewLine}{cliOutput}{Environment.NewLine}silo:{Environment.NewLine}{silo.Process.Tail()}");
        Assert.Equal(["demo-customer-totals", "demo-forwarder", "demo-order-totals", "demo-streams"], statuses.Select(s => s.GetProperty("group").GetString()).Distinct().Order());
        Assert.All(statuses, s => Assert.Equal($"127.0.0.1:{silo.SiloPort}", s.GetProperty("silo").GetString()));

        // order-totals keeps exactly-once state, shown as JSON; the other groups' processors keep none.
        Assert.All(statuses.Where(s => s.GetProperty("group").GetString() != "demo-order-totals"), s => Assert.Equal(JsonValueKind.Null, s.GetProperty("processorState").ValueKind));
        Assert.Contains(statuses, s => s.GetProperty("processorState") is { ValueKind: JsonValueKind.Object } state && state.GetProperty("count").GetInt64() > 0);

        // Filters: by group and topic, and by state (nothing holds here).
        var (filteredExit, filtered) = await Cli.RunAsync("status", "--json", "--group", "demo-forwarder", "--topic", "demo-orders", "--gateway", silo.Gateway);
        Assert.Equal(0, filteredExit);
        var forwarder = JsonSerializer.Deserialize<JsonElement[]>(filtered)!;
        Assert.Equal(12, forwarder.Length);
        Assert.All(forwarder, s => Assert.Equal(("demo-forwarder", "demo-orders"), (s.GetProperty("group").GetString(), s.GetProperty("topic").GetString())));
        var (holdingExit, holding) = await Cli.RunAsync("status", "--json", "--state", "Holding", "--gateway", silo.Gateway);
        Assert.Equal(0, holdingExit);
        Assert.Empty(JsonSerializer.Deserialize<JsonElement[]>(holding)!);
        var (tableExit, table) = await Cli.RunAsync("status", "--state", "Holding", "--gateway", silo.Gateway);
        Assert.Equal(0, tableExit);
        Assert.Contains("no partition matches --group, --topic or --state", table);

        // Each partition's measured cost once its owner reported it, and each group's load per silo and
        // the silos it needs (the groups command): one silo holds everything and carries the whole cost.
        var costed = await Poll.UntilAsync(
            async () =>
            {
                var (exit, output) = await Cli.RunAsync("status", "--json", "--group", "demo-forwarder", "--gateway", silo.Gateway);
                return exit == 0 && JsonSerializer.Deserialize<JsonElement[]>(output)!.All(s => s.GetProperty("cost").ValueKind == JsonValueKind.Number && s.GetProperty("cost").GetDouble() >= 0);
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromSeconds(1));
        Assert.True(costed, "status --json did not show every demo-forwarder partition's cost");
        var (withGroupExit, withGroup) = await Cli.RunAsync("status", "--json", "--group", "demo-forwarder", "--gateway", silo.Gateway);
        Assert.Equal(0, withGroupExit);
        Assert.All(JsonSerializer.Deserialize<JsonElement[]>(withGroup)!, s => Assert.InRange(s.GetProperty("groupSilosDesired").GetInt32(), 1, 12));
        var (groupsExit, groupsOutput) = await Cli.RunAsync("groups", "--json", "--gateway", silo.Gateway);
        Assert.Equal(0, groupsExit);
        var groups = JsonSerializer.Deserialize<JsonElement[]>(groupsOutput)!;
        Assert.Equal(["demo-customer-totals", "demo-forwarder", "demo-order-totals", "demo-streams"], groups.Select(g => g.GetProperty("group").GetString()));
        Assert.All(groups, g =>
        {
            Assert.Equal("Load", g.GetProperty("balanceBy").GetString());
            Assert.InRange(g.GetProperty("silosDesired").GetInt32(), 1, 12);
            var only = Assert.Single(g.GetProperty("silos").EnumerateArray());
            Assert.Equal($"127.0.0.1:{silo.SiloPort}", only.GetProperty("silo").GetString());
            Assert.Equal(12, only.GetProperty("partitions").GetInt32());
            Assert.Equal(g.GetProperty("cost").GetDouble(), only.GetProperty("cost").GetDouble(), 9);
        });
        var (groupsTableExit, groupsTable) = await Cli.RunAsync("groups", "--group", "demo-forwarder", "--gateway", silo.Gateway);
        Assert.Equal(0, groupsTableExit);
        Assert.Contains("demo-forwarder", groupsTable);
        Assert.DoesNotContain("demo-streams", groupsTable);

        // The silo's own JSON API names states too.
        using var http = new HttpClient();
        var api = await http.GetFromJsonAsync<JsonElement[]>($"{silo.WebRoot}/kafka/partitions");
        Assert.Equal(48, api!.Length);
        Assert.All(api, s => Assert.Equal(JsonValueKind.String, s.GetProperty("state").ValueKind));
    }

    [Fact]
    public async Task Status_NoSiloAtTheGateway_FailsWithinSecondsWithANonZeroExitAndSaysWhy()
    {
        var port = LoopbackPorts.Free(1)[0];
        var clock = Stopwatch.StartNew();

        // With the CLI's own default connect timeout (the other tests give it more).
        var (exitCode, output) = await Cli.RunAsync(new Dictionary<string, string> { ["ORLEANS_KAFKA_CONNECT_TIMEOUT"] = "10" }, "status", "--gateway", $"127.0.0.1:{port}");

        Assert.NotEqual(0, exitCode);
        Assert.Contains($"Could not connect to a silo gateway at 127.0.0.1:{port}", output.ReplaceLineEndings(" "));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the CLI took {clock.Elapsed} to give up");
    }
}
