using Microsoft.Playwright;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>
/// The Kafka page of the README's silo, clicked in a real headless Chromium (Debian's, installed
/// by test.sh, driven by Playwright for .NET): pause stops that partition's commits while the
/// others go on, resume restarts it, and history shows its owner.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class KafkaPageClickTests
{
    private const string Group = "demo-forwarder";
    private const string Topic = "demo-orders";
    private const int Clicked = 5;

    [Fact]
    public async Task ClickingPause_StopsThatPartitionsCommittedOffset_WhileTheOthersMove_AndResumeRestartsIt()
    {
        await using var silo = await SiloHost.StartAsync();
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { [Topic] = 12 });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(silo.WebRoot + "/kafka");
        var row = page.Locator($"tr[data-partition='{Group}/{Topic}/{Clicked}']");
        await Assertions.Expect(row.Locator("td").Nth(4)).ToHaveTextAsync("Idle", new() { Timeout = 60_000 });

        await row.Locator("button[data-action='pause']").ClickAsync();
        await Assertions.Expect(row.Locator("td").Nth(4)).ToHaveTextAsync("Paused", new() { Timeout = 15_000 });
        await Assertions.Expect(row.Locator("button[data-action='resume']")).ToBeVisibleAsync();

        // The demo produces to every partition: the others commit on, the clicked one stops. (The
        // record in flight when the click landed still finishes and is committed within a commit
        // interval, so the paused offset is read once the others have moved on once.)
        await WaitForTheOthersToMoveAsync(kafka);
        var held = (await kafka.CommittedOffsetsAsync(Group, Topic))[Clicked];
        await WaitForTheOthersToMoveAsync(kafka);
        Assert.Equal(held, (await kafka.CommittedOffsetsAsync(Group, Topic))[Clicked]);
        Assert.True((await kafka.HighWatermarksAsync(Topic))[Clicked] > held, "no record arrived for the paused partition meanwhile");

        await row.Locator("button[data-action='resume']").ClickAsync();
        Assert.True(
            await Poll.UntilAsync(async () => (await kafka.CommittedOffsetsAsync(Group, Topic))[Clicked] > held, TimeSpan.FromSeconds(30)),
            "the partition did not go on after resume");
        await Assertions.Expect(row.Locator("td").Nth(4)).Not.ToHaveTextAsync("Paused", new() { Timeout = 15_000 });

        await row.Locator("button[data-action='history']").ClickAsync();
        await Assertions.Expect(page.Locator("tr.history")).ToContainTextAsync($"127.0.0.1:{silo.SiloPort} (epoch", new() { Timeout = 15_000 });
        // Granted at start; or, when the starting silo (on two busy cores) renewed its first grant
        // too late, granted again after that grant expired.
        await Assertions.Expect(page.Locator("tr.history")).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"\(epoch \d+, (Start|Expiry)\)"));
    }

    private static async Task WaitForTheOthersToMoveAsync(KafkaInspector kafka)
    {
        var before = await kafka.CommittedOffsetsAsync(Group, Topic);
        var moved = await Poll.UntilAsync(
            async () =>
            {
                var now = await kafka.CommittedOffsetsAsync(Group, Topic);
                return before.Where(p => p.Key != Clicked).All(p => now[p.Key] > p.Value + 5);
            },
            TimeSpan.FromSeconds(30));
        Assert.True(moved, "the other partitions did not move on");
    }
}
