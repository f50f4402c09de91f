using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>
/// <c>OnFailure = HoldKey</c> on silo processes (Redis store): one key of fifty fails for good; the
/// other keys' records all run, in order per key, while its records wait; the hold outlives the
/// silo's restart; and once mended and retried from the CLI, the key's records run in order.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class HoldKeyProcessTests : IDisposable
{
    private const string Topic = "audit-orders";
    private const string Group = "audit-holdkey";
    private const string FailingKey = "key-7";
    private const int Keys = 50;
    private const int PerKey = 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("holdkey-").FullName;

    [Fact]
    public async Task OneKeyFailsForGood_TheOther49RunInOrder_ItsRecordsWaitAcrossARestart_AndRunInOrderOnceRetried()
    {
        var options = HeldKeyAudit.Options(Topic, Group, _directory, FailingKey, maxAttempts: 2);
        await File.WriteAllTextAsync(Path.Combine(_directory, "fail-" + FailingKey), "failing");
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 1 });

        // Round robin over the keys: key-i's n-th record is at offset n * 50 + i.
        await kafka.ProduceAsync(Topic, Enumerable.Range(0, Keys * PerKey).Select(i => ((string?)$"key-{i % Keys}", (string?)$"{i}")), partition: 0);
        var firstHeld = 7L;
        Assert.True(
            await Poll.UntilAsync(() => Task.FromResult(HeldKeyAudit.Ended(_directory).Count(e => e.Key != FailingKey) >= (Keys - 1) * PerKey), TimeSpan.FromSeconds(60)),
            $"the other keys ran {HeldKeyAudit.Ended(_directory).Count(e => e.Key != FailingKey)} of {(Keys - 1) * PerKey} records:{Environment.NewLine}{cluster.Silos[0].Process.Tail()}");
        AssertEachKeyInOrder(HeldKeyAudit.Ended(_directory).Where(e => e.Key != FailingKey), Keys - 1);
        Assert.DoesNotContain(HeldKeyAudit.Ended(_directory), e => e.Key == FailingKey);

        var held = await HeldKeyAsync(cluster.Silos[0], waiting: PerKey);
        Assert.Equal(firstHeld, held.GetProperty("offset").GetInt64());
        Assert.Equal(firstHeld, (await kafka.CommittedOffsetsAsync(Group, Topic))[0]);

        // The silo stops (SIGTERM) and a new process takes the partition: the key still holds, at
        // the same record, since the same time, and its records wait again as they are fetched.
        var first = cluster.Silos[0];
        first.Process.Terminate();
        await first.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var second = await cluster.StartSiloAsync();
        var again = await HeldKeyAsync(second, waiting: PerKey);
        Assert.Equal(firstHeld, again.GetProperty("offset").GetInt64());
        Assert.Equal(held.GetProperty("since").GetString(), again.GetProperty("since").GetString());
        Assert.DoesNotContain(HeldKeyAudit.Ended(_directory), e => e.Key == FailingKey);

        // Mended, then retried from the CLI: the held record and the 19 behind it run, in order.
        File.Delete(Path.Combine(_directory, "fail-" + FailingKey));
        var (exitCode, output) = await Cli.RunAsync("key", "retry", Group, Topic, "0", FailingKey, "--gateway", Gateway(second));
        Assert.True(exitCode == 0, output);
        await kafka.WaitForCommittedAsync(Group, Topic, new Dictionary<int, long> { [0] = Keys * PerKey }, TimeSpan.FromSeconds(60));
        var failingKey = HeldKeyAudit.Ended(_directory).Where(e => e.Key == FailingKey).Select(e => e.Offset).ToList();
        Assert.Equal(Enumerable.Range(0, PerKey).Select(n => (long)(n * Keys) + 7), failingKey);
        (exitCode, output) = await Cli.RunAsync("key", "list", Group, Topic, "0", "--json", "--gateway", Gateway(second));
        Assert.True(exitCode == 0, output);
        Assert.Empty(JsonSerializer.Deserialize<JsonElement[]>(output)!);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Gateway(SiloProcess silo) => $"127.0.0.1:{silo.GatewayPort}";

    /// <summary>The held key as <c>orleans-kafka key list --json</c> shows it, once <paramref name="waiting"/> of its records wait.</summary>
    private static async Task<JsonElement> HeldKeyAsync(SiloProcess silo, int waiting)
    {
        JsonElement key = default;
        var output = string.Empty;
        Assert.True(
            await Poll.UntilAsync(
                async () =>
                {
                    (var exitCode, output) = await Cli.RunAsync("key", "list", Group, Topic, "0", "--json", "--gateway", Gateway(silo));
                    key = exitCode == 0 ? JsonSerializer.Deserialize<JsonElement[]>(output)!.FirstOrDefault() : default;
                    return key.ValueKind == JsonValueKind.Object && key.GetProperty("waiting").GetInt32() == waiting;
                },
                TimeSpan.FromSeconds(60),
                TimeSpan.FromSeconds(1)),
            $"no key held with {waiting} records waiting: {output}");
        Assert.Equal(FailingKey, key.GetProperty("key").GetString());
        return key;
    }

    private static void AssertEachKeyInOrder(IEnumerable<(string Key, long Offset)> ended, int keys)
    {
        var byKey = ended.GroupBy(e => e.Key).ToList();
        Assert.Equal(keys, byKey.Count);
        foreach (var key in byKey)
        {
            var offsets = key.Select(e => e.Offset).ToList();
            Assert.True(offsets.SequenceEqual(offsets.Order()), $"{key.Key} ran out of order: {string.Join(",", offsets)}");
            Assert.Equal(PerKey, offsets.Distinct().Count());
        }
    }
}
