using System.Globalization;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>A processor limited to silos with a role (<c>Kafka:Processors:&lt;name&gt;:Role</c>), on silo processes.</summary>
[Trait("Category", "Kafka")]
public sealed class SiloRoleTests
{
    private const string Topic = "heavy-work";
    private const string Group = "heavy";

    [Fact]
    public async Task ARoleLimitedProcessor_RunsOnlyOnTheSiloWithTheRole_AndWaitsWhenThatSiloDies_SayingWhy()
    {
        var directory = Directory.CreateTempSubdirectory("orleanskafka-roles-");
        try
        {
            var options = new SiloProcessClusterOptions { Silos = 1 };
            options.Topics[Topic] = 4;
            foreach (var (name, value) in AuditOnly.Settings(Topic, Group, directory.FullName))
            {
                options.Settings[name] = value;
            }

            options.Settings["Kafka__Processors__audit__Role"] = "heavy";
            options.Settings["Kafka__Roles"] = "heavy, batch";

            await using var cluster = await SiloProcessCluster.StartAsync(options);
            var heavy = cluster.Silos[0];
            var light = await cluster.StartSiloAsync(new Dictionary<string, string> { ["Kafka__Roles"] = "batch" });
            using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 4 });

            // Both silos are up and in the group; every record is processed on the one with the role.
            for (var p = 0; p < 4; p++)
            {
                await kafka.ProduceAsync(Topic, Enumerable.Range(0, 50).Select(i => ((string?)$"k{i % 5}", (string?)i.ToString(CultureInfo.InvariantCulture))), p);
            }

            await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));
            var processedBy = Ended(directory.FullName);
            Assert.Equal(200, processedBy.Count);
            Assert.All(processedBy, silo => Assert.Equal(heavy.Endpoint, silo));
            var (groupsExit, groups) = await Cli.RunAsync("groups", "--json", "--group", Group, "--gateway", Gateway(light));
            Assert.Equal(0, groupsExit);
            var silos = JsonSerializer.Deserialize<JsonElement[]>(groups)!.Single().GetProperty("silos").EnumerateArray().ToDictionary(s => s.GetProperty("silo").GetString()!, s => s.GetProperty("partitions").GetInt32());
            Assert.Equal(new Dictionary<string, int> { [heavy.Endpoint] = 4, [light.Endpoint] = 0 }, silos);

            // Without it the partitions wait, the status says for what, and the other silo processes nothing.
            heavy.Process.KillHard();
            for (var p = 0; p < 4; p++)
            {
                await kafka.ProduceAsync(Topic, [("late", "1")], p);
            }

            JsonElement[] statuses = [];
            var waiting = await Poll.UntilAsync(
                async () =>
                {
                    var (exit, output) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", Gateway(light));
                    statuses = exit == 0 ? JsonSerializer.Deserialize<JsonElement[]>(output)! : [];
                    return statuses.Length == 4 && statuses.All(s => s.GetProperty("state").GetString() == "NotOwner"
                        && s.GetProperty("waiting").GetString() is { } why && why.Contains("'heavy'", StringComparison.Ordinal));
                },
                TimeSpan.FromSeconds(60),
                TimeSpan.FromSeconds(1));
            Assert.True(waiting, $"the partitions did not wait for a silo with the role: {string.Join(Environment.NewLine, statuses)}{Environment.NewLine}{light.Process.Tail()}");
            var (tableExit, table) = await Cli.RunAsync("status", "--group", Group, "--gateway", Gateway(light));
            Assert.Equal(0, tableExit);
            Assert.Contains("waiting for a silo with role(s) 'heavy'", table, StringComparison.Ordinal);
            Assert.Equal(200, Ended(directory.FullName).Count);
            Assert.DoesNotContain(light.Endpoint, Ended(directory.FullName));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string Gateway(SiloProcess silo) => $"127.0.0.1:{silo.GatewayPort}";

    /// <summary>The silo of each end event the audit processor wrote.</summary>
    private static List<string> Ended(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*.events")
            .SelectMany(f => { using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); using var reader = new StreamReader(stream); return reader.ReadToEnd().Split('\n'); })
            .Select(line => line.Split(' '))
            .Where(parts => parts.Length >= 6 && parts[0] == "E")
            .Select(parts => parts[5])];
}
