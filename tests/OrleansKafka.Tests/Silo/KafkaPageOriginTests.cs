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

        // The page itself still acts (its fetches are same-origin), as does a client that is not a browser.
        await page.GotoAsync(silo.WebRoot + "/kafka");
        var pause = await page.EvaluateAsync<int>("async () => (await fetch('/kafka/partitions/demo-forwarder/demo-orders/0/pause', { method: 'POST' })).status");
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
