using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>
/// The operator surface of the README's silo against pages of other sites: a page on another
/// local port, opened in a real headless Chromium, cannot act through the operator's browser; a
/// name other than loopback's (DNS rebinding) is not answered; bad partition numbers are named.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class KafkaPageOriginTests
{
    private const string Group = "demo-forwarder";

    [Fact]
    public async Task APageOfAnotherOrigin_CannotPauseAPartitionThroughTheOperatorsBrowser()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };
        Assert.True(await Poll.UntilAsync(async () => await StateAsync(http, 0) == "Idle", TimeSpan.FromSeconds(60)), $"partition 0 never became idle:{Environment.NewLine}{silo.Process.Tail()}");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var answered = new List<int>();
        page.Response += (_, response) =>
        {
            if (response.Url.StartsWith(silo.WebRoot, StringComparison.Ordinal))
            {
                lock (answered)
                {
                    answered.Add(response.Status);
                }
            }
        };

        // Another site's page, served on another local port.
        using var other = OtherSite.Start();
        await page.GotoAsync(other.Url);

        // What the issue tried: a fetch that needs no CORS permission to be sent. Its answer is not
        // the script's to read (Chromium's opaque-response blocking fails the fetch), but the request
        // reaches the silo all the same.
        await page.EvaluateAsync(
            "async (root) => { try { await fetch(root + '/kafka/partitions/demo-forwarder/demo-orders/0/pause', { method: 'POST', mode: 'no-cors' }); } catch { } }",
            silo.WebRoot);

        Assert.Equal("Idle", await StateAsync(http, 0));
        Assert.True(await Poll.UntilAsync(() => { lock (answered) { return answered.Count > 0; } }, TimeSpan.FromSeconds(10)), "the browser reported no answer from the silo");
        lock (answered)
        {
            Assert.All(answered, status => Assert.Equal(403, status));
        }

        // On the page's own origin a POST without the anti-forgery token the page was served with is
        // refused too; the page's own POST, which sends it, acts, as does a client that is not a browser.
        await page.GotoAsync(silo.WebRoot + "/kafka");
        Assert.Equal(403, await page.EvaluateAsync<int>("async () => (await fetch('/kafka/partitions/demo-forwarder/demo-orders/0/pause', { method: 'POST' })).status"));
        Assert.Equal("Idle", await StateAsync(http, 0));
        var pause = await page.EvaluateAsync<int>(
            """
            async () => {
              const meta = name => document.querySelector(`meta[name="orleans-kafka-${name}"]`).content;
              const headers = { [meta("antiforgery-header")]: meta("antiforgery-token") };
              return (await fetch('/kafka/partitions/demo-forwarder/demo-orders/0/pause', { method: 'POST', headers })).status;
            }
            """);
        Assert.Equal(200, pause);
        Assert.Equal("Paused", await StateAsync(http, 0));
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/kafka/partitions/{Group}/demo-orders/0/resume", null)).StatusCode);
    }

    [Fact]
    public async Task OtherHostNames_CrossSiteRequests_AndBadPartitionNumbers_AreRefusedSayingWhy()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };

        // DNS rebinding: a name of another site pointed at 127.0.0.1 reaches the port, but is not answered.
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/kafka/partitions");
        rebound.Headers.Host = $"attacker.example:{silo.WebPort}";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(rebound)).StatusCode);
        using var local = new HttpRequestMessage(HttpMethod.Get, "/kafka/partitions");
        local.Headers.Host = $"localhost:{silo.WebPort}";
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(local)).StatusCode);

        using var crossSite = new HttpRequestMessage(HttpMethod.Get, $"/kafka/partitions/{Group}/demo-orders/0/history");
        crossSite.Headers.Add("Sec-Fetch-Site", "same-site");
        var refused = await http.SendAsync(crossSite);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("Sec-Fetch-Site: same-site", await refused.Content.ReadAsStringAsync());
        using var otherOrigin = new HttpRequestMessage(HttpMethod.Post, $"/kafka/partitions/{Group}/demo-orders/0/pause");
        otherOrigin.Headers.Add("Origin", "http://127.0.0.1:9");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(otherOrigin)).StatusCode);

        var negative = await http.GetAsync($"/kafka/partitions/{Group}/demo-orders/-1/history");
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Contains("Partition -1 is not a partition number; expected 0 or more", await negative.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/kafka/partitions/{Group}/demo-orders/-3/pause", null)).StatusCode);
        Assert.DoesNotContain(silo.Process.Output, line => line.Contains("fail:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TenThousandRequestsForMadeUpPartitions_AreAnswered404_AndLeaveActivationsAndMetricSeriesWhereTheyWere()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };
        Assert.True(await Poll.UntilAsync(async () => await StateAsync(http, 0) == "Idle", TimeSpan.FromSeconds(60)), $"partition 0 never became idle:{Environment.NewLine}{silo.Process.Tail()}");
        await using var client = await GatewayClient.ConnectAsync(silo.GatewayPort);

        // The cost gauges appear once each partition's first figures are in (two heartbeats after
        // its grant) and the groups' once their lease grains have published: count from then.
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    var lines = (await http.GetStringAsync("/metrics")).Split('\n');
                    return lines.Count(l => l.StartsWith("orleanskafka_partition_cost_seconds_per_second{", StringComparison.Ordinal)) == 48
                        && lines.Count(l => l.StartsWith("orleanskafka_group_silos_desired{", StringComparison.Ordinal)) == 4;
                },
                TimeSpan.FromSeconds(60)),
            "the cost gauges of the 48 partitions and 4 groups did not appear");
        var activationsBefore = await ActivationsAsync(client);
        var seriesBefore = await SeriesAsync(http);
        Assert.True(activationsBefore > 0 && seriesBefore > 0, $"nothing to compare: {activationsBefore} activations, {seriesBefore} series");

        var madeUp = Enumerable.Range(0, 10_000).Select(i => (i % 4) switch
        {
            0 => $"/kafka/partitions/made-up-group-{i}/demo-orders/0/history",
            1 => $"/kafka/partitions/{Group}/made-up-topic-{i}/0/history",
            2 => $"/kafka/partitions/{Group}/demo-orders/{1000 + i}/history",
            _ => $"/kafka/partitions/made-up-group-{i}/demo-orders/0/pause",
        });
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(madeUp, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (path, token) =>
        {
            using var response = path.EndsWith("/pause", StringComparison.Ordinal) ? await http.PostAsync(path, null, token) : await http.GetAsync(path, token);
            statuses.Add(response.StatusCode);
        });

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.NotFound, status));
        var notFound = await http.GetAsync("/kafka/partitions/made-up-group/demo-orders/0/history");
        Assert.Contains("No partition made-up-group/demo-orders/0 is known to this cluster", await notFound.Content.ReadAsStringAsync());
        Assert.Equal(activationsBefore, await ActivationsAsync(client));
        Assert.Equal(seriesBefore, await SeriesAsync(http));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/kafka/partitions/{Group}/demo-orders/0/history")).StatusCode);
    }

    [Fact]
    public async Task ThePage_ForbidsFramingAndSniffing_AndRunsOnlyItsOwnScript()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };

        using var page = await http.GetAsync("/kafka");

        var policy = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.Matches("script-src 'sha256-[A-Za-z0-9+/=]+';", policy);
        Assert.DoesNotContain("unsafe-inline", policy);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        using var json = await http.GetAsync("/kafka/partitions");
        Assert.Equal("nosniff", json.Headers.GetValues("X-Content-Type-Options").Single());
    }

    /// <summary>Activations of the product's grains across the cluster.</summary>
    private static async Task<int> ActivationsAsync(GatewayClient client)
    {
        var statistics = await client.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.Contains("OrleansKafka", StringComparison.OrdinalIgnoreCase) || s.GrainType.Contains("orleanskafka", StringComparison.Ordinal))
            .Sum(s => s.ActivationCount);
    }

    /// <summary>Series of the processing meter in the Prometheus scrape.</summary>
    private static async Task<int> SeriesAsync(HttpClient http) =>
        (await http.GetStringAsync("/metrics")).Split('\n').Count(l => l.StartsWith("messaging_", StringComparison.Ordinal) || l.StartsWith("orleanskafka_", StringComparison.Ordinal));

    /// <summary>A page of another origin: one HTML page on a free loopback port.</summary>
    private sealed class OtherSite : IDisposable
    {
        private readonly HttpListener _listener;

        private OtherSite(HttpListener listener, string url)
        {
            _listener = listener;
            Url = url;
        }

        public string Url { get; }

        public static OtherSite Start()
        {
            var url = $"http://127.0.0.1:{LoopbackPorts.Free(1)[0]}/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            listener.Start();
            _ = ServeAsync(listener);
            return new OtherSite(listener, url);
        }

        public void Dispose() => _listener.Close();

        private static async Task ServeAsync(HttpListener listener)
        {
            var page = "<html><body>another site</body></html>"u8.ToArray();
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                context.Response.ContentType = "text/html";
                await context.Response.OutputStream.WriteAsync(page);
                context.Response.Close();
            }
        }
    }

    private static async Task<string?> StateAsync(HttpClient http, int partition)
    {
        var statuses = await http.GetFromJsonAsync<JsonElement[]>("/kafka/partitions");
        return statuses!.Where(s => s.GetProperty("group").GetString() == Group && s.GetProperty("topic").GetString() == "demo-orders" && s.GetProperty("partition").GetInt32() == partition)
            .Select(s => s.GetProperty("state").GetString()).FirstOrDefault();
    }
}
