using System.Net.Http.Json;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>The figures the JSON API and the CLI show are Kafka's own: committed offsets, high watermarks and lag, per partition.</summary>
[Trait("Category", "Kafka")]
public sealed class FiguresAgreeTests
{
    private const string Group = "demo-forwarder";
    private const string Topic = "demo-orders";

    [Fact]
    public async Task JsonApiAndCliStatus_ShowKafkasCommittedOffsetsAndHighWatermarks_ForEveryPartition()
    {
        // No demo traffic: the figures settle, and each partition has its own count of records.
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { [Topic] = 12 });
        for (var partition = 0; partition < 12; partition += 3)
        {
            await silo.ProduceWithKcatAsync(Topic, partition, Enumerable.Range(0, partition + 1).Select(i => $"k{i}:{{\"customer\":\"c\",\"amount\":{i}}}"));
        }

        await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));
        var committed = await kafka.CommittedOffsetsAsync(Group, Topic);
        var high = await kafka.HighWatermarksAsync(Topic);
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };

        string shown = string.Empty;
        var agree = await Poll.UntilAsync(
            async () =>
            {
                var api = (await http.GetFromJsonAsync<JsonElement[]>("/kafka/partitions"))!.Where(r => r.GetProperty("group").GetString() == Group).ToList();
                var (exitCode, cli) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", silo.Gateway);
                shown = cli;
                return exitCode == 0 && Agrees(api) && Agrees([.. JsonSerializer.Deserialize<JsonElement[]>(cli)!]);
            },
            TimeSpan.FromSeconds(30),
            TimeSpan.FromSeconds(1));
        Assert.True(agree, $"Kafka: committed {string.Join(", ", committed.OrderBy(c => c.Key))}, high {string.Join(", ", high.OrderBy(h => h.Key))}; the CLI showed:{Environment.NewLine}{shown}");

        // Partitions with records: committed up to the high watermark, no lag. The others: high watermark 0.
        bool Agrees(IReadOnlyList<JsonElement> rows) =>
            rows.Count == 12 && rows.All(r =>
            {
                var partition = r.GetProperty("partition").GetInt32();
                return r.GetProperty("highWatermark").GetInt64() == high[partition]
                    && (high[partition] == 0 || (r.GetProperty("committedOffset").GetInt64() == committed[partition] && r.GetProperty("lag").GetInt64() == 0));
            });
    }
}
