using System.Net;
using System.Text.Json;
using OrleansKafka.Kafka;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>The silo host's health endpoints, probed over HTTP as Kubernetes would, with its Kafka taken away and given back.</summary>
[Trait("Category", "Kafka")]
public sealed class HealthTests
{
    [Fact]
    public async Task Ready_Is200OnceProcessing_503WhileKafkaIsDown_AndBackWhenItReturns_WhileLiveStays200()
    {
        // A Kafka outside the silo process, so that the test can stop its brokers.
        using var kafka = EmbeddedKafkaCluster.Start(1);
        foreach (var (topic, partitions) in new[] { ("demo-orders", 12), ("demo-orders-forwarded", 12), ("demo-orders.dlq", 1) })
        {
            kafka.CreateTopic(topic, partitions);
        }

        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Kafka__BootstrapServers"] = kafka.BootstrapServers }, bootstrapFromLog: false);
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot), Timeout = TimeSpan.FromSeconds(10) };

        Assert.True(await Poll.UntilAsync(async () => (await ReadyAsync(http)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60)), $"never ready:{Environment.NewLine}{silo.Process.Tail()}");
        var ready = (await ReadyAsync(http)).Body;
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        var groups = ready.GetProperty("checks").GetProperty("kafka-processing").GetProperty("data");
        Assert.StartsWith("lease grain answered", groups.GetProperty("demo-order-totals").GetString());
        Assert.StartsWith("lease grain answered", groups.GetProperty("demo-forwarder").GetString());

        kafka.SetBrokersUp(false);
        var down = default((HttpStatusCode Status, JsonElement Body));
        Assert.True(
            await Poll.UntilAsync(async () => (down = await ReadyAsync(http)).Status == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30)),
            "still ready with every broker down");
        Assert.Contains(
            $"Kafka at Kafka:BootstrapServers = '{kafka.BootstrapServers}' did not answer a metadata request within 2 s",
            down.Body.GetProperty("checks").GetProperty("kafka-processing").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

        kafka.SetBrokersUp(true);
        Assert.True(await Poll.UntilAsync(async () => (await ReadyAsync(http)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30)), $"not ready again after Kafka returned:{Environment.NewLine}{silo.Process.Tail()}");
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health/ready");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, body);
    }
}
