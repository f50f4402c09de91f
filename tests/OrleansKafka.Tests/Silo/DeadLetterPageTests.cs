using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>
/// The dead letters on the Kafka page of the README's silo (issue 25): a record kcat produced that
/// the demo's <c>order-totals</c> and <c>customer-totals</c> both dead-letter (one dead letter
/// each, to the same topic) is listed, redriven from the page in Chromium and through the API with
/// the token, each once; no other topic is read.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class DeadLetterPageTests
{
    private const string DeadLetters = "demo-orders.dlq";
    private const string Token = "s3cret-token-of-at-least-32-characters";

    [Fact]
    public async Task ADeadLetter_IsListedOnThePage_AndRedrivenByAClick()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
        await silo.ProduceWithKcatAsync("demo-orders", 4, ["bad-key:not an order"]);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(silo.WebRoot + "/kafka");

        // Written by the silo a moment after the record came: the topic is shown again until it is there.
        var row = page.Locator("#dead-letters tbody tr").Filter(new() { HasText = "bad-key" });
        await Poll.UntilAsync(
            async () =>
            {
                await page.Locator($"#dead-letter-topics button[data-action='{DeadLetters}']").ClickAsync();
                return await row.CountAsync() == 2;
            },
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1));
        var first = page.Locator($"#dead-letters tbody tr[data-offset='{await row.First.GetAttributeAsync("data-offset")}']");
        await Assertions.Expect(first).ToContainTextAsync("not an order");
        await Assertions.Expect(first).ToContainTextAsync("demo-orders/4@");
        await Assertions.Expect(first.Locator("td").Nth(7)).ToHaveTextAsync("no");

        await first.Locator("button[data-action='redrive']").ClickAsync();
        await Assertions.Expect(first.Locator("td").Nth(7)).ToHaveTextAsync("yes", new() { Timeout = 30_000 });

        // Back on its source partition, where its key's other records are (the review: librdkafka's
        // partitioner and a Java producer's would choose differently).
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12 });
        var back = Assert.Single(await kafka.ReadAllAsync("demo-orders", TimeSpan.FromSeconds(10)), r => r.Message.Headers.Any(h => h.Key == "x-redrive-dlq-topic"));
        Assert.Equal(4, back.Partition.Value);
    }

    [Fact]
    public async Task TheApi_ListsOnlyTheProcessorsDeadLetterTopics_AndRedrivesWithTheToken_EachRecordOnce()
    {
        await using var silo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false", ["Dashboard__Token"] = Token });
        await silo.ProduceWithKcatAsync("demo-orders", 6, ["bad-key:not an order"]);
        using var http = new HttpClient { BaseAddress = new Uri(silo.WebRoot) };

        Assert.Contains(DeadLetters, await http.GetFromJsonAsync<string[]>("/kafka/dead-letters") ?? []);
        JsonElement listed = default;
        Assert.True(
            await Poll.UntilAsync(async () => (listed = await http.GetFromJsonAsync<JsonElement>($"/kafka/dead-letters/{DeadLetters}")).GetProperty("read").GetInt32() == 2, TimeSpan.FromSeconds(60)),
            $"not dead-lettered: {listed}");
        var letter = listed.GetProperty("letters")[0];
        Assert.Equal(("bad-key", "not an order", false), (letter.GetProperty("key").GetString(), letter.GetProperty("value").GetString(), letter.GetProperty("redriven").GetBoolean()));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/kafka/dead-letters/demo-orders")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        foreach (var elsewhere in new[] { "__consumer_offsets", "demo-orders-forwarded" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/kafka/dead-letters/{DeadLetters}/redrive?destination={elsewhere}", null)).StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = null;

        // These two, back to their source: there they are dead-lettered again (new records), but
        // the same selection redriven again sends nothing.
        var last = listed.GetProperty("letters").EnumerateArray().Max(l => l.GetProperty("offset").GetInt64());
        var redrive = $"/kafka/dead-letters/{DeadLetters}/redrive?toOffset={last}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync(redrive, null)).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var first = await http.PostAsync(redrive, null);
        Assert.True(first.StatusCode == HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        Assert.Equal(2, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("redriven").GetInt32());
        var second = await (await http.PostAsync(redrive, null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((0, 2), (second.GetProperty("redriven").GetInt32(), second.GetProperty("alreadyRedriven").GetInt32()));

        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { ["demo-orders"] = 12 });
        var back = (await kafka.ReadAllAsync("demo-orders", TimeSpan.FromSeconds(10))).Where(r => r.Message.Headers.Any(h => h.Key == "x-redrive-dlq-topic")).ToList();
        Assert.Equal(2, back.Count);
        Assert.All(back, r => Assert.Equal(("bad-key", "not an order", 6), (Encoding.UTF8.GetString(r.Message.Key!), Encoding.UTF8.GetString(r.Message.Value!), r.Partition.Value)));
        Assert.All(
            (await http.GetFromJsonAsync<JsonElement>($"/kafka/dead-letters/{DeadLetters}")).GetProperty("letters").EnumerateArray().Where(l => l.GetProperty("offset").GetInt64() <= last),
            l => Assert.True(l.GetProperty("redriven").GetBoolean()));
    }
}
