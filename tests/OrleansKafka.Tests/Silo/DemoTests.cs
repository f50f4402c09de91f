using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Silo;

/// <summary>The README's silo, as a newcomer runs it, fed by an outside Kafka client.</summary>
[Trait("Category", "Kafka")]
public sealed partial class DemoTests
{
    private const string OrderTotalsGroup = "demo-order-totals";

    [Fact]
    public async Task PlainTextProducedWithKcat_OrderTotalsDeadLettersEachRecordAndGoesOn()
    {
        var ports = LoopbackPorts.Free(3);
        await using var silo = ChildProcess.Start("silo", "dotnet", [SiloHostAssembly.Locate()], new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = $"{ports[0]}",
            ["Silo__GatewayPort"] = $"{ports[1]}",
            ["Dashboard__Urls"] = $"http://127.0.0.1:{ports[2]}",
        });
        var bootstrap = (await silo.WaitForOutputAsync(BootstrapLine(), TimeSpan.FromSeconds(60))).Groups[1].Value;
        await silo.WaitForOutputAsync(new("Application started"), TimeSpan.FromSeconds(60));
        using var kafka = new KafkaInspector(bootstrap, new Dictionary<string, int> { ["demo-orders"] = 12, ["demo-orders.dlq"] = 1 });

        // 20 records that are not JSON orders, from another process, to partition 3.
        using (var kcat = Process.Start(new ProcessStartInfo("kcat", ["-P", "-b", bootstrap, "-t", "demo-orders", "-p", "3", "-K", ":"])
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("kcat did not start"))
        {
            for (var i = 0; i < 20; i++)
            {
                await kcat.StandardInput.WriteLineAsync($"kcat-{i}:not an order {i}");
            }

            kcat.StandardInput.Close();
            await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        // The partition goes on past them (the demo keeps producing to it too), and each lands in the dead-letter topic.
        await kafka.WaitForCommittedAsync(OrderTotalsGroup, "demo-orders", TimeSpan.FromSeconds(60));
        var dead = await kafka.ReadAllAsync("demo-orders.dlq");
        var deadValues = dead.Select(r => Encoding.UTF8.GetString(r.Message.Value!)).ToHashSet();
        Assert.True(Enumerable.Range(0, 20).All(i => deadValues.Contains($"not an order {i}")), $"dead-lettered: {string.Join(", ", deadValues)}{Environment.NewLine}{silo.Tail()}");
        Assert.All(dead, r => Assert.Equal("1", Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("x-dlq-attempts"))));
        Assert.False(silo.HasExited, silo.Tail());
    }

    [GeneratedRegex("bootstrap servers: ([^;]+);")]
    private static partial Regex BootstrapLine();
}
