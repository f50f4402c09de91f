using System.Net;
using System.Text.RegularExpressions;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Silo;

/// <summary>The Kafka page of the README's silo, loaded in a real headless Chromium (Debian's, installed by test.sh).</summary>
[Trait("Category", "Kafka")]
public sealed partial class KafkaPageTests
{
    [Fact]
    public async Task KafkaPage_InHeadlessChromium_ShowsEveryPartitionOfTheDemoGroupsWithItsState_AndTheExactlyOnceTotals_AndLinksTheDashboard()
    {
        await using var silo = await SiloHost.StartAsync();
        var root = silo.WebRoot;

        // The root leads to the page.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var redirect = await http.GetAsync(root + "/");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/kafka", redirect.Headers.Location?.OriginalString);

        string dom = string.Empty;
        var shown = await Poll.UntilAsync(
            async () =>
            {
                dom = await DumpDomAsync(root + "/kafka");
                return Row().Matches(dom).Count == 48 && !dom.Contains(">NotOwner<", StringComparison.Ordinal) && Totals().IsMatch(dom) && LoadBar().Matches(dom).Count == 4
                    && Lane().Matches(dom).Count == 48 && Mark().Matches(dom).Count >= 48;
            },
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(1));

        Assert.True(shown, $"the page did not show 48 partitions held by the silo, with order-totals' state:{Environment.NewLine}{dom}");
        var rows = Row().Matches(dom).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(12, rows.Count(r => r.StartsWith("demo-forwarder/demo-orders/", StringComparison.Ordinal)));
        Assert.Equal(12, rows.Count(r => r.StartsWith("demo-order-totals/demo-orders/", StringComparison.Ordinal)));
        Assert.Equal(12, rows.Count(r => r.StartsWith("demo-customer-totals/demo-orders/", StringComparison.Ordinal)));
        Assert.Equal(12, rows.Count(r => r.StartsWith("demo-streams/demo-orders/", StringComparison.Ordinal)));
        Assert.Contains($">127.0.0.1:{silo.SiloPort}<", dom);
        Assert.Contains("href=\"/dashboard\"", dom);
        Assert.Contains("48 partitions, updated", dom);

        // Each group's load per silo as a chart: one figure per group, one bar for this silo, with the silos it needs.
        Assert.Equal(["demo-customer-totals", "demo-forwarder", "demo-order-totals", "demo-streams"], LoadFigure().Matches(dom).Select(m => m.Groups[1].Value));
        Assert.All(LoadBar().Matches(dom), m => Assert.Equal($"127.0.0.1:{silo.SiloPort}", m.Groups[1].Value));
        Assert.Equal(4, Regex.Matches(dom, "balanced by load · cost [0-9.]+ busy s/s · silos desired [1-9]").Count);

        // The ownership timeline: a lane per partition, each begun with a Start mark; the lag and rate chart per group.
        Assert.All(Mark().Matches(dom), m => Assert.Equal("Start", m.Groups[1].Value));
        Assert.Equal(4, Regex.Matches(dom, "<polyline class=\"lag\"").Count);

        // An operator's seek gives partition 0 of the forwarder up and takes it again: its lane gets a second mark, Operator.
        var (seekExit, seekOutput) = await Cli.RunAsync("seek", "demo-forwarder", "demo-orders", "0", "end", "--gateway", silo.Gateway);
        Assert.True(seekExit == 0, seekOutput);
        var marked = await Poll.UntilAsync(
            async () =>
            {
                dom = await DumpDomAsync(root + "/kafka");
                var forwarder = dom[dom.IndexOf("<figure data-group=\"demo-forwarder\">", StringComparison.Ordinal)..];
                var lane = forwarder[forwarder.IndexOf("data-partition=\"demo-orders/0\"", StringComparison.Ordinal)..];
                lane = lane[..lane.IndexOf("</g>", StringComparison.Ordinal)];
                return Mark().Matches(lane).Select(m => m.Groups[1].Value).SequenceEqual(["Start", "Operator"]);
            },
            TimeSpan.FromSeconds(60),
            TimeSpan.FromSeconds(2));
        Assert.True(marked, $"the forwarder's lane of partition 0 did not show the seek as an Operator mark:{Environment.NewLine}{dom}");
    }

    /// <summary>The page's DOM after its scripts ran, as headless Chromium renders it.</summary>
    private static async Task<string> DumpDomAsync(string url)
    {
        var profile = Directory.CreateTempSubdirectory("orleanskafka-chromium-");
        try
        {
            await using var chromium = ChildProcess.Start("chromium", "chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                $"--user-data-dir={profile.FullName}", "--virtual-time-budget=5000", "--dump-dom", url,
            ]);
            await chromium.WaitForExitAsync(TimeSpan.FromSeconds(60));
            return string.Join('\n', chromium.Output);
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    [GeneratedRegex("<g class=\"lane\" data-partition=\"([^\"]+)\"")]
    private static partial Regex Lane();

    [GeneratedRegex("<path class=\"handover\" data-reason=\"([A-Za-z]+)\"")]
    private static partial Regex Mark();

    [GeneratedRegex("<figure data-group=\"([^\"]+)\">")]
    private static partial Regex LoadFigure();

    [GeneratedRegex("<rect class=\"bar\" data-silo=\"([^\"]+)\"")]
    private static partial Regex LoadBar();

    [GeneratedRegex("<tr class=\"[^\"]*\" data-partition=\"([^\"]+)\"")]
    private static partial Regex Row();

    /// <summary>order-totals' exactly-once state in its column, as the page prints the JSON.</summary>
    [GeneratedRegex("<td class=\"text\">\\{\"count\":[1-9][0-9]*,\"total\":[0-9.]+\\}</td>")]
    private static partial Regex Totals();
}
