using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Silo;

/// <summary>The Kafka page's actions through its JSON API, against a silo host process holding a malformed record.</summary>
[Trait("Category", "Kafka")]
public sealed class KafkaPageActionsTests
{
    private const string Group = "demo-order-totals";

    [Fact]
    public async Task SkipThroughTheApi_NeedsTheConfiguredToken_ThenResolvesTheHold_AndASecondSkipIsAConflict()
    {
        var ports = LoopbackPorts.Free(3);
        await using var silo = ChildProcess.Start("silo", "dotnet", [SiloHostAssembly.Locate()], new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = $"{ports[0]}",
            ["Silo__GatewayPort"] = $"{ports[1]}",
            ["Dashboard__Urls"] = $"http://127.0.0.1:{ports[2]}",
            ["Dashboard__Token"] = "s3cret-token",
            ["Kafka__Processors__order-totals__OnFailure"] = "Hold",
        });
        var bootstrap = (await silo.WaitForOutputAsync(new("bootstrap servers: ([^;]+);"), TimeSpan.FromSeconds(60))).Groups[1].Value;
        await silo.WaitForOutputAsync(new("Application started"), TimeSpan.FromSeconds(60));
        using (var kcat = Process.Start(new ProcessStartInfo("kcat", ["-P", "-b", bootstrap, "-t", "demo-orders", "-p", "7", "-K", ":"]) { RedirectStandardInput = true, UseShellExecute = false })!)
        {
            await kcat.StandardInput.WriteLineAsync("bad:not an order");
            kcat.StandardInput.Close();
            await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[2]}") };
        Assert.True(await Poll.UntilAsync(async () => await StateAsync(http, 7) == "Holding", TimeSpan.FromSeconds(60)), $"partition 7 did not hold:{Environment.NewLine}{silo.Tail()}");
        var skip = $"/kafka/partitions/{Group}/demo-orders/7/skip";

        var refused = await http.PostAsync(skip, null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Dashboard:Token", await refused.Content.ReadAsStringAsync());
        Assert.Equal("Holding", await StateAsync(http, 7));

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-token");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(skip, null)).StatusCode);
        Assert.True(await Poll.UntilAsync(async () => await StateAsync(http, 7) != "Holding", TimeSpan.FromSeconds(30)), "the skip did not resolve the hold");

        var again = await http.PostAsync(skip, null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("is not holding a record", await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/kafka/partitions/{Group}/demo-orders/7/explode", null)).StatusCode);
        Assert.DoesNotContain(silo.Output, line => line.Contains("s3cret-token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Actions_WebHostBoundBeyondLoopbackWithoutAToken_AreRefusedNamingTheSetting()
    {
        var ports = LoopbackPorts.Free(3);
        await using var silo = ChildProcess.Start("silo", "dotnet", [SiloHostAssembly.Locate()], new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = $"{ports[0]}",
            ["Silo__GatewayPort"] = $"{ports[1]}",
            ["Dashboard__Urls"] = $"http://0.0.0.0:{ports[2]}",
            ["Demo__Enabled"] = "false",
        });
        await silo.WaitForOutputAsync(new("Application started"), TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[2]}") };

        var refused = await http.PostAsync($"/kafka/partitions/{Group}/demo-orders/0/skip", null);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("listens beyond loopback and Dashboard:Token is not set", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/kafka/partitions")).StatusCode);
    }

    private static async Task<string?> StateAsync(HttpClient http, int partition)
    {
        var statuses = await http.GetFromJsonAsync<JsonElement[]>("/kafka/partitions");
        return statuses!.Where(s => s.GetProperty("group").GetString() == Group && s.GetProperty("partition").GetInt32() == partition)
            .Select(s => s.GetProperty("state").GetString()).FirstOrDefault();
    }
}
