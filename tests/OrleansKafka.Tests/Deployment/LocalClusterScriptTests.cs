using System.Net.Http.Json;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Deployment;

/// <summary>The README's several-silos commands, run as a user runs them: <c>deploy/local/cluster.sh</c> as a process.</summary>
[Trait("Category", "Kafka")]
public sealed class LocalClusterScriptTests
{
    private const string Group = "demo-forwarder";

    [Fact]
    public async Task ClusterScript_StartsThreeSilos_ShowsTheirPartitions_RestartsOneGracefully_AndStopsEverything()
    {
        var run = Directory.CreateTempSubdirectory("orleanskafka-local-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["ORLEANS_KAFKA_RUN_DIR"] = run,
            ["REDIS_PORT"] = LoopbackPorts.Free(1)[0].ToString(System.Globalization.CultureInfo.InvariantCulture),

            // The script builds (start) and `dotnet run`s the CLI (status): no build server may
            // outlive it holding its output open, or its exit is never seen.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "false",
            ["UseSharedCompilation"] = "false",
        };
        try
        {
            var start = await ScriptAsync(environment, TimeSpan.FromMinutes(3), "start", "3");
            Assert.Contains(start, line => line.StartsWith("silo 2: pid ", StringComparison.Ordinal));
            using var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:8080") };
            Assert.True(await Poll.UntilAsync(async () => (await OwnersAsync(http)).Count == 3, TimeSpan.FromSeconds(60)), $"the partitions were not spread over the three silos: {string.Join(", ", await OwnersAsync(http))}");

            var status = await ScriptAsync(environment, TimeSpan.FromMinutes(3), "status");
            Assert.Contains(status, line => line.Contains(Group, StringComparison.Ordinal) && line.Contains("127.0.0.1:11113", StringComparison.Ordinal));

            // SIGTERM: silo 1 hands its partitions over; started again, it takes its share back.
            var restart = await ScriptAsync(environment, TimeSpan.FromMinutes(2), "restart", "1");
            Assert.Equal("silo 1: stopped", restart.First(line => line.StartsWith("silo 1: ", StringComparison.Ordinal)));
            Assert.Contains(restart, line => line.StartsWith("silo 1: pid ", StringComparison.Ordinal));
            Assert.True(await Poll.UntilAsync(async () => (await OwnersAsync(http)).Contains("127.0.0.1:11112"), TimeSpan.FromSeconds(60)), "the restarted silo took no partition back");

            var stop = await ScriptAsync(environment, TimeSpan.FromMinutes(2), "stop");
            Assert.Contains("stopped", stop);
            Assert.Empty(Directory.GetFiles(run, "*.pid"));
        }
        finally
        {
            if (Directory.GetFiles(run, "*.pid").Length > 0)
            {
                await ScriptAsync(environment, TimeSpan.FromMinutes(2), "stop");
            }

            Directory.Delete(run, recursive: true);
        }
    }

    /// <summary>Runs <c>deploy/local/cluster.sh</c> with <paramref name="arguments"/>; asserts it exited 0 and returns its output.</summary>
    private static async Task<IReadOnlyCollection<string>> ScriptAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] arguments)
    {
        var script = Path.Combine(SiloHostAssembly.RepositoryRoot(), "deploy", "local", "cluster.sh");
        await using var process = ChildProcess.Start("cluster.sh", "bash", [script, .. arguments], environment);
        var exitCode = await process.WaitForExitAsync(timeout);
        Assert.True(exitCode == 0, $"cluster.sh {string.Join(' ', arguments)} exited with {exitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, process.Output)}");
        return process.Output;
    }

    /// <summary>The silos owning the demo forwarder's partitions, from silo 0's Kafka page API.</summary>
    private static async Task<HashSet<string>> OwnersAsync(HttpClient http)
    {
        try
        {
            var statuses = await http.GetFromJsonAsync<JsonElement[]>("/kafka/partitions");
            return [.. statuses!.Where(s => s.GetProperty("group").GetString() == Group && s.GetProperty("silo").ValueKind == JsonValueKind.String)
                .Select(s => s.GetProperty("silo").GetString()!)];
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }
}
