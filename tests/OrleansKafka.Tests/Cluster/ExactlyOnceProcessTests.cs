using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansKafka.Leasing;
using OrleansKafka.Silo.Demo;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>
/// The demo's exactly-once totals on three silo processes with Redis storage, while orders stream
/// in: one silo is SIGKILLed, another SIGSTOPped past its leases. The per-partition totals
/// (order-totals) and the per-customer totals (key grains) end equal to what was produced; the
/// forwarder, whose produce is a side effect outside any state, repeats records in the same run.
/// The demo's implicit stream subscriber loses nothing and keeps each stream in offset order.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class ExactlyOnceProcessTests
{
    private const string Topic = "demo-orders";
    private const int Orders = 3000;
    private const int Customers = 40;
    private static readonly string[] Groups = ["demo-order-totals", "demo-customer-totals", "demo-forwarder", "demo-streams"];

    [Fact]
    public async Task TotalsEqualWhatWasProduced_AfterAKillAndAFreeze_WhileTheForwardersOutputHasRepeats()
    {
        var options = new SiloProcessClusterOptions { Silos = 3, Store = SiloProcessStore.Redis };
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 12, ["demo-orders-forwarded"] = 12, ["demo-orders-streamed"] = 12, ["demo-orders.dlq"] = 1 });
        var (survivor, killed, frozen) = (cluster.Silos[0], cluster.Silos[1], cluster.Silos[2]);
        await using var client = await GatewayClient.ConnectAsync(survivor);

        var orders = Enumerable.Range(0, Orders).Select(i => new DemoOrder(i, $"customer-{i % Customers:D2}", 1.25m + (i % 7))).ToList();
        var produced = 0;
        var producing = Task.Run(async () =>
        {
            // About 600 orders a second, so that the kill and the freeze land mid-stream.
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            for (var next = 0; next < Orders; next += 30)
            {
                await tick.WaitForNextTickAsync();
                await kafka.ProduceAsync(Topic, orders.Skip(next).Take(30).Select(o => ((string?)o.Customer, (string?)JsonSerializer.Serialize(o, JsonSerializerOptions.Web))));
                Volatile.Write(ref produced, next + 30);
            }
        });

        Assert.True(await Poll.UntilAsync(() => Volatile.Read(ref produced) >= Orders / 3, TimeSpan.FromSeconds(30)));
        killed.Process.KillHard();
        Assert.True(await Poll.UntilAsync(() => Volatile.Read(ref produced) >= 2 * Orders / 3, TimeSpan.FromSeconds(30)));
        frozen.Process.Freeze();
        try
        {
            // Frozen past its leases: every group's partitions are owned by the survivor alone.
            Assert.True(
                await Poll.UntilAsync(
                    async () =>
                    {
                        foreach (var group in Groups)
                        {
                            // A call to a lease grain that was on the frozen silo waits for a grain call's timeout: ask again instead.
                            var assignments = await client.Client.GetGrain<IPartitionLeaseGrain>(group).GetAssignmentsAsync().WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
                            var owners = assignments?.Select(a => a.Owner).Distinct().ToList();
                            if (owners is not [var only] || only != survivor.Endpoint)
                            {
                                return false;
                            }
                        }

                        return true;
                    },
                    TimeSpan.FromSeconds(60)),
                "the survivor did not take over every partition");
        }
        finally
        {
            frozen.Process.Thaw();
        }

        await producing;
        foreach (var group in Groups)
        {
            await kafka.WaitForCommittedAsync(group, Topic, TimeSpan.FromSeconds(90));
        }

        // Nothing was dead-lettered (checked first: a dead-lettered order is missing from the totals).
        var dead = await kafka.ReadAllAsync("demo-orders.dlq");
        Assert.True(dead.Count == 0, string.Join(Environment.NewLine, dead.Select(r => $"{Header(r, "x-dlq-consumer-group")} {Header(r, "x-dlq-source-partition")}@{Header(r, "x-dlq-source-offset")} ({Header(r, "x-dlq-error-type")}): {Header(r, "x-dlq-error-message")}")));

        // Per partition (order-totals' state, through the CLI as an operator reads it). Read until
        // every partition shows its high watermark: one granted again a moment ago (the thawed silo
        // may have taken partitions before it learned it was declared dead) shows none until its
        // first fetch, and its row would be left out of the sum below.
        JsonElement[] rows = [];
        string json = "";
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    (var exit, json) = await Cli.RunAsync("status", "--json", "--group", "demo-order-totals", "--gateway", $"127.0.0.1:{survivor.GatewayPort}");
                    Assert.True(exit == 0, json);
                    rows = JsonSerializer.Deserialize<JsonElement[]>(json)!;
                    return rows.Length == 12 && rows.All(r => r.GetProperty("highWatermark").GetInt64() >= 0);
                },
                TimeSpan.FromSeconds(30),
                TimeSpan.FromMilliseconds(500)),
            json);

        // A partition no customer's key maps to has no records, and so no state stored yet.
        var states = rows.Where(r => r.GetProperty("highWatermark").GetInt64() > 0).Select(r => r.GetProperty("processorState")).ToList();
        Assert.True(states.All(s => s.ValueKind == JsonValueKind.Object), json);
        Assert.True(Orders == states.Sum(s => s.GetProperty("count").GetInt64()), json);
        Assert.Equal(orders.Sum(o => o.Amount), states.Sum(s => s.GetProperty("total").GetDecimal()));

        // Per customer (the key grains' state).
        foreach (var customer in orders.GroupBy(o => o.Customer))
        {
            var totals = await client.Client.GetGrain<ICustomerTotalsGrain>(customer.Key).GetTotalsAsync();
            Assert.True(totals.Count == customer.Count() && totals.Total == customer.Sum(o => o.Amount), $"{customer.Key}: {totals.Count} orders, {totals.Total}; produced {customer.Count()}, {customer.Sum(o => o.Amount)}");
        }

        // The forwarder's produce is at-least-once: every order is there, and some twice.
        var forwarded = await kafka.ReadAllAsync("demo-orders-forwarded");
        var sources = forwarded.Select(r => $"{Header(r, "x-source-partition")}/{Header(r, "x-source-offset")}").ToList();
        Assert.Equal(Orders, sources.Distinct().Count());
        Assert.True(sources.Count > Orders, "the forwarder repeated no record: the kill and the freeze hit no record in flight, so the totals above prove nothing");

        // The implicit stream subscriber (the kafka stream provider, group demo-streams) forwarded
        // every order, each customer's stream in offset order (first sightings; repeats come after a failover).
        var streamed = await kafka.ReadAllAsync("demo-orders-streamed");
        Assert.Equal(Orders, streamed.Select(r => $"{Header(r, "x-source-partition")}/{Header(r, "x-source-offset")}").Distinct().Count());
        foreach (var stream in streamed.GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)))
        {
            var firsts = stream.Select(r => long.Parse(Header(r, "x-source-offset"), CultureInfo.InvariantCulture)).Distinct().ToList();
            Assert.True(firsts.SequenceEqual(firsts.Order()), $"stream {stream.Key} out of offset order: {string.Join(", ", firsts)}");
        }
    }

    private static string Header(Confluent.Kafka.ConsumeResult<byte[]?, byte[]?> record, string name) =>
        Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));
}
