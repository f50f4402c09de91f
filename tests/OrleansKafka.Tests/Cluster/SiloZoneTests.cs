using System.Text.Json;
using Confluent.Kafka;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>Silos in zones (<c>Kafka:Zone</c>) over brokers with racks, on silo processes and the embedded Kafka.</summary>
[Trait("Category", "Kafka")]
public sealed class SiloZoneTests
{
    private const string Topic = "zoned";
    private const string Group = "zoned";
    private static readonly string[] Racks = ["za", "zb", "zc"];

    [Fact]
    public async Task WithRacksOnTheBrokers_EachPartitionGoesToTheSiloInItsLeadersZone_WhenTheLoadIsEven()
    {
        var directory = Directory.CreateTempSubdirectory("orleanskafka-zones-");
        try
        {
            var options = new SiloProcessClusterOptions { Silos = 1, BrokerRacks = string.Join(',', Racks) };
            options.Topics[Topic] = 12;
            foreach (var (name, value) in AuditOnly.Settings(Topic, Group, directory.FullName))
            {
                options.Settings[name] = value;
            }

            options.Settings["Kafka__Placement__RebalanceInterval"] = "00:00:02";
            options.Settings["Kafka__Placement__MaxMovesPerInterval"] = "6";
            options.Settings["Kafka__Zone"] = "za";

            await using var cluster = await SiloProcessCluster.StartAsync(options);
            var zoneOf = new Dictionary<string, string> { [cluster.Silos[0].Endpoint] = "za" };
            foreach (var zone in Racks[1..])
            {
                zoneOf[(await cluster.StartSiloAsync(new Dictionary<string, string> { ["Kafka__Zone"] = zone })).Endpoint] = zone;
            }

            // The leaders' racks, as any Kafka client reads them: broker n has the n-th rack.
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
            var leaderZone = admin.GetMetadata(Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.ToDictionary(p => p.PartitionId, p => Racks[p.Leader - 1]);
            Assert.Equal(3, leaderZone.Values.Distinct().Count());

            var owners = new Dictionary<int, string>();
            var zoned = await Poll.UntilAsync(
                async () =>
                {
                    var (exit, output) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", $"127.0.0.1:{cluster.Silos[0].GatewayPort}");
                    owners = exit == 0 ? JsonSerializer.Deserialize<JsonElement[]>(output)!.ToDictionary(s => s.GetProperty("partition").GetInt32(), s => s.GetProperty("silo").GetString()!) : [];
                    return owners.Count == 12 && owners.All(o => zoneOf.GetValueOrDefault(o.Value) == leaderZone[o.Key]);
                },
                TimeSpan.FromSeconds(90),
                TimeSpan.FromSeconds(1));

            Assert.True(zoned, $"partitions not in their leaders' zones: {string.Join(", ", owners.OrderBy(o => o.Key).Select(o => $"{o.Key} (leader in {leaderZone[o.Key]}) on {zoneOf.GetValueOrDefault(o.Value, o.Value)}"))}{Environment.NewLine}{string.Join(Environment.NewLine, cluster.Silos[0].Process.Output.Where(l => l.Contains("zone", StringComparison.OrdinalIgnoreCase) || l.Contains("rack", StringComparison.OrdinalIgnoreCase)).TakeLast(20))}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
