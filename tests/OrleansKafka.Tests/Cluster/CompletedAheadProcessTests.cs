using System.Globalization;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>
/// A key held (<c>OnFailure = HoldKey</c>) keeps the commit below it while the other keys'
/// records complete; the commit note carries what completed past it, and after a move to another
/// silo process the new owner runs again only what the note could not carry (issue 25).
/// </summary>
[Trait("Category", "Kafka")]
public sealed class CompletedAheadProcessTests : IDisposable
{
    private const string Topic = "audit-orders";
    private const string Group = "audit-completed-ahead";
    private const string FailingKey = "key-7";
    private readonly string _directory = Directory.CreateTempSubdirectory("completed-ahead-").FullName;

    /// <param name="keys">Keys, round robin: one held key among 1,000 leaves 100 gaps (the map fits the note); among 10, 2,000 (it does not: the ranges nearest the commit go).</param>
    /// <param name="records">Records produced.</param>
    /// <param name="fits">Whether the whole map fits Kafka's commit metadata.</param>
    [Theory]
    [InlineData(1000, 100_000, true)]
    [InlineData(10, 20_000, false)]
    public async Task AfterAMove_TheNewOwnerRunsAgainOnlyWhatTheCommitNoteCouldNotCarry(int keys, int records, bool fits)
    {
        var options = HeldKeyAudit.Options(Topic, Group, _directory, FailingKey, maxAttempts: 1);
        await File.WriteAllTextAsync(Path.Combine(_directory, "fail-" + FailingKey), "failing");
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 1 });
        await kafka.ProduceAsync(Topic, Enumerable.Range(0, records).Select(i => ((string?)$"key-{i % keys}", (string?)$"{i}")), partition: 0);
        var held = records / keys;
        var others = records - held;
        Assert.True(
            await Poll.UntilAsync(() => Task.FromResult(HeldKeyAudit.Ended(_directory).Count(e => e.Key != FailingKey) >= others), TimeSpan.FromSeconds(120)),
            $"the other keys ran {HeldKeyAudit.Ended(_directory).Count(e => e.Key != FailingKey)} of {others} records:{Environment.NewLine}{cluster.Silos[0].Process.Tail()}");
        await WaitingAsync(cluster.Silos[0], held);
        Assert.Equal(7, (await kafka.CommittedOffsetsAsync(Group, Topic))[0]);

        // The silo stops (SIGTERM: its last commit carries the note) and a new process takes the partition.
        var first = cluster.Silos[0];
        var firstFiles = Directory.EnumerateFiles(_directory, "*.events").ToHashSet();
        first.Process.Terminate();
        await first.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var second = await cluster.StartSiloAsync();
        await WaitingAsync(second, held);

        // What the new owner ran again of the other keys' records, each still in order per key.
        var again = HeldKeyAudit.Ended(_directory, f => !firstFiles.Contains(f)).Where(e => e.Key != FailingKey).ToList();
        foreach (var key in again.GroupBy(e => e.Key))
        {
            Assert.True(key.Select(e => e.Offset).SequenceEqual(key.Select(e => e.Offset).Order()), $"{key.Key} ran out of order after the move");
        }

        var share = (double)again.Count / others;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"keys {keys}, records {records}: the new owner ran {again.Count} of the other keys' {others} records again ({share:P2})"));
        if (fits)
        {
            Assert.True(share < 0.01, $"{again.Count} of {others} records ran again");
        }
        else
        {
            // The note carried the ranges nearest the commit: fewer ran again than without a note, and nothing was lost.
            Assert.InRange(share, 0.01, 0.99);
            Assert.Equal(others, HeldKeyAudit.Ended(_directory).Where(e => e.Key != FailingKey).Select(e => e.Offset).Distinct().Count());
        }

        Assert.Equal(7, (await kafka.CommittedOffsetsAsync(Group, Topic))[0]);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Waits until the held key has <paramref name="waiting"/> records waiting (on that silo's partition).</summary>
    private static async Task WaitingAsync(SiloProcess silo, int waiting)
    {
        var output = string.Empty;
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    // Idle too: the delivery that parked the last of them has ended.
                    (var exitCode, output) = await Cli.RunAsync("status", "--json", "--group", Group, "--gateway", $"127.0.0.1:{silo.GatewayPort}");
                    return exitCode == 0
                        && JsonSerializer.Deserialize<JsonElement[]>(output)!.FirstOrDefault(s => s.GetProperty("state").GetString() != "NotOwner") is { ValueKind: JsonValueKind.Object } status
                        && status.GetProperty("state").GetString() == "Idle"
                        && status.GetProperty("heldKeys") is { ValueKind: JsonValueKind.Array } held && held.GetArrayLength() == 1
                        && held[0].GetProperty("waiting").GetInt32() == waiting;
                },
                TimeSpan.FromSeconds(120),
                TimeSpan.FromSeconds(1)),
            $"the held key has not {waiting} records waiting: {output}");
    }
}
