using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>The Kafka page's actions through its JSON API, against a silo host process holding a malformed record.</summary>
[Trait("Category", "Kafka")]
public sealed class KafkaPageActionsTests
{
    private const string Group = "demo-order-totals";
    private const string Token = "s3cret-token-of-at-least-32-characters";

    [Fact]
    public async Task SkipThroughTheApi_NeedsTheConfiguredToken_ThenResolvesTheHold_AndASecondSkipIsAConflict()
    {
        // The token as a file, the way a mounted Kubernetes Secret gives it.
        var secrets = Directory.CreateTempSubdirectory("orleanskafka-secrets-");
        await File.WriteAllTextAsync(Path.Combine(secrets.FullName, "Dashboard__Token"), Token);
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string>
        {
            ["ORLEANS_KAFKA_SECRETS"] = secrets.FullName,
            ["Kafka__Processors__order-totals__OnFailure"] = "Hold",
        });
        await silo.ProduceWithKcatAsync("demo-orders", 7, ["bad:not an order"]);

        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };
        Assert.True(await Poll.UntilAsync(async () => await StateAsync(http, 7) == "Holding", TimeSpan.FromSeconds(60)), $"partition 7 did not hold:{Environment.NewLine}{silo.Process.Tail()}");
        var skip = $"/kafka/partitions/{Group}/demo-orders/7/skip";

        var refused = await http.PostAsync(skip, null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Dashboard:Token", await refused.Content.ReadAsStringAsync());
        Assert.Equal("Holding", await StateAsync(http, 7));

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(skip, null)).StatusCode);
        Assert.True(await Poll.UntilAsync(async () => await StateAsync(http, 7) != "Holding", TimeSpan.FromSeconds(30)), "the skip did not resolve the hold");

        var again = await http.PostAsync(skip, null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("is not holding a record", await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/kafka/partitions/{Group}/demo-orders/7/explode", null)).StatusCode);
        Assert.DoesNotContain(silo.Process.Output, line => line.Contains(Token, StringComparison.Ordinal));
        secrets.Delete(recursive: true);
    }

    /// <summary>
    /// <c>OnFailure = HoldKey</c> on the demo's key grains (customer-totals): a malformed order of
    /// one customer, produced with kcat, holds that customer only; the API's decision about it
    /// needs the token, runs the customer's waiting record, and a second is a conflict.
    /// </summary>
    [Fact]
    public async Task AHeldKey_IsListedInTheStatus_WhileOtherKeysGoOn_AndIsSkippedThroughTheApiWithTheToken()
    {
        const string Customers = "demo-customer-totals";
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string>
        {
            ["Dashboard__Token"] = Token,
            ["Demo__Enabled"] = "false",
            ["Kafka__Processors__customer-totals__OnFailure"] = "HoldKey",
        });
        await silo.ProduceWithKcatAsync("demo-orders", 5, [
            "customer-bad:not an order",
            """customer-bad:{"orderId":2,"customer":"customer-bad","amount":2}""",
            """customer-good:{"orderId":3,"customer":"customer-good","amount":3}""",
        ]);

        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };
        JsonElement status = default;
        Assert.True(
            await Poll.UntilAsync(async () => (status = await StatusAsync(http, Customers, 5)).ValueKind == JsonValueKind.Object && status.GetProperty("heldKeys").GetArrayLength() == 1 && status.GetProperty("recordsWaiting").GetInt32() == 2 && status.GetProperty("committedOffset").GetInt64() == 0, TimeSpan.FromSeconds(60)),
            $"partition 5 holds no key (status {status}):{Environment.NewLine}{silo.Process.Tail()}");
        var held = status.GetProperty("heldKeys")[0];
        Assert.Equal(("customer-bad", 0L, "not an order"), (held.GetProperty("key").GetString(), held.GetProperty("offset").GetInt64(), held.GetProperty("value").GetString()));
        Assert.NotEqual("Holding", status.GetProperty("state").GetString());
        Assert.Equal(1, status.GetProperty("recordsProcessed").GetInt64());

        var skip = $"/kafka/partitions/{Customers}/demo-orders/5/keys/0/skip";
        var refused = await new HttpClient { BaseAddress = new Uri(silo.WebRoot) }.PostAsync(skip, null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var skipped = await http.PostAsync(skip, null);
        Assert.True(skipped.StatusCode == HttpStatusCode.OK, await skipped.Content.ReadAsStringAsync());
        Assert.True(
            await Poll.UntilAsync(async () => (status = await StatusAsync(http, Customers, 5)).GetProperty("heldKeys").GetArrayLength() == 0 && status.GetProperty("committedOffset").GetInt64() == 3, TimeSpan.FromSeconds(30)),
            $"the skip did not release the key: {status}");
        Assert.Equal(1, status.GetProperty("recordsSkipped").GetInt64());

        var again = await http.PostAsync(skip, null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("holds no key at offset 0", await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/kafka/partitions/{Customers}/demo-orders/5/keys/0/pause", null)).StatusCode);
    }

    [Fact]
    public async Task WebHostBoundBeyondLoopbackWithoutAToken_AnswersALoopbackConnection_SinceTheRuleIsPerRequest()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" }, webHost: "0.0.0.0");
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/kafka/partitions")).StatusCode);

        // An action needs the partition's owner: the silo may still be taking its partitions up.
        Assert.True(await Poll.UntilAsync(async () => (await StatusAsync(http, Group, 0)).ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(30)), "partition 0 got no owner");
        var resume = await http.PostAsync($"/kafka/partitions/{Group}/demo-orders/0/resume", null);
        Assert.True(resume.StatusCode == HttpStatusCode.OK, await resume.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> StatusAsync(HttpClient http, string group, int partition)
    {
        var statuses = await http.GetFromJsonAsync<JsonElement[]>("/kafka/partitions");
        return statuses!.FirstOrDefault(s => s.GetProperty("group").GetString() == group && s.GetProperty("partition").GetInt32() == partition && s.GetProperty("state").GetString() != "NotOwner");
    }

    private static async Task<string?> StateAsync(HttpClient http, int partition)
    {
        var statuses = await http.GetFromJsonAsync<JsonElement[]>("/kafka/partitions");
        return statuses!.Where(s => s.GetProperty("group").GetString() == Group && s.GetProperty("partition").GetInt32() == partition)
            .Select(s => s.GetProperty("state").GetString()).FirstOrDefault();
    }
}
