using System.Diagnostics;
using System.Text;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>The README's silo process: its metrics scraped as Prometheus would, and a trace context carried through the demo forwarder.</summary>
[Trait("Category", "Kafka")]
public sealed partial class TelemetryEndpointTests
{
    [Fact]
    public async Task Metrics_AreServedAtSlashMetrics_AndTheForwarderPassesTheTraceOnFromItsProcessSpan()
    {
        // An OTLP endpoint turns the spans on; nothing listens there, and the silo does not mind.
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Telemetry__OtlpEndpoint"] = $"http://127.0.0.1:{LoopbackPorts.Free(1)[0]}" });
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot), Timeout = TimeSpan.FromSeconds(10) };
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12, ["demo-orders-forwarded"] = 12 });

        var scraped = string.Empty;
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    scraped = await http.GetStringAsync("/metrics");
                    return scraped.Contains("messaging_client_consumed_messages_total{", StringComparison.Ordinal)
                        && scraped.Contains("messaging_consumer_group_name=\"demo-forwarder\"", StringComparison.Ordinal)
                        && scraped.Contains("messaging_process_duration_seconds_bucket{", StringComparison.Ordinal)
                        && scraped.Contains("orleanskafka_partition_lag{", StringComparison.Ordinal)
                        && scraped.Contains("orleanskafka_partitions_owned{", StringComparison.Ordinal)
                        && scraped.Contains("orleanskafka_partition_cost_seconds_per_second{", StringComparison.Ordinal)
                        && SilosDesired().IsMatch(scraped);
                },
                TimeSpan.FromSeconds(60)),
            $"/metrics lacks the processing metrics:{Environment.NewLine}{string.Join(Environment.NewLine, scraped.Split('\n').Where(l => !l.StartsWith('#')).Take(40))}");

        var (traceId, spanId) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        var key = $"traced-{Guid.NewGuid():N}";
        await silo.ProduceWithKcatAsync("demo-orders", 5, [$"{key}:{{\"customer\":\"c\",\"amount\":1}}"], [$"traceparent=00-{traceId}-{spanId}-01"]);

        string? forwardedParent = null;
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    var forwarded = (await kafka.ReadAllAsync("demo-orders-forwarded", TimeSpan.FromSeconds(2)))
                        .FirstOrDefault(r => r.Message.Key is { } k && Encoding.UTF8.GetString(k) == key);
                    forwardedParent = forwarded?.Message.Headers.TryGetLastBytes("traceparent", out var bytes) == true ? Encoding.ASCII.GetString(bytes) : null;
                    return forwarded is not null;
                },
                TimeSpan.FromSeconds(60)),
            "the traced record was not forwarded");
        var parts = forwardedParent?.Split('-');
        Assert.True(parts is { Length: 4 }, $"forwarded traceparent: {forwardedParent}");
        Assert.Equal(traceId.ToHexString(), parts[1]);
        Assert.NotEqual(spanId.ToHexString(), parts[2]); // the forwarder's process span, a child of the record's
    }

    /// <summary>The gauge the autoscaling files in deploy/kubernetes/autoscaling query, for a demo group (at least 1).</summary>
    [System.Text.RegularExpressions.GeneratedRegex("\norleanskafka_group_silos_desired\\{[^}]*messaging_consumer_group_name=\"demo-forwarder\"[^}]*\\} [1-9][0-9]*\\n")]
    private static partial System.Text.RegularExpressions.Regex SilosDesired();
}
