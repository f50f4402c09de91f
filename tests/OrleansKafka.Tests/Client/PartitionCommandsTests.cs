using System.Globalization;
using System.Text;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Client;

/// <summary>The CLI's seek and move run as processes against the README's silo process.</summary>
[Trait("Category", "Kafka")]
public sealed class PartitionCommandsTests
{
    private const string Group = "demo-forwarder";
    private const string Topic = "demo-orders";

    [Fact]
    public async Task Seek_ToTheBeginning_ReprocessesThePartition_AndOutOfRangeOrUnknownTargetsFailWithExitCode2()
    {
        await using var silo = await SiloHost.StartAsync();
        using var kafka = new KafkaInspector(silo.BootstrapServers, new Dictionary<string, int> { [Topic] = 12, ["demo-orders-forwarded"] = 12 });
        await silo.ProduceWithKcatAsync(Topic, 2, Enumerable.Range(0, 20).Select(i => $"seek-{i}:{{\"customer\":\"c\",\"amount\":{i}}}"));
        await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));
        Assert.Equal(1, await ForwardedCountAsync(kafka, offset: 0));

        var (tooFarExit, tooFar) = await Cli.RunAsync("seek", Group, Topic, "2", "999999", "--gateway", silo.Gateway);
        Assert.Equal(2, tooFarExit);
        Assert.Contains("Offset 999999 is outside partition demo-forwarder/demo-orders/2", tooFar);
        var (notAnOffsetExit, notAnOffset) = await Cli.RunAsync("seek", Group, Topic, "2", "yesterday", "--gateway", silo.Gateway);
        Assert.Equal(2, notAnOffsetExit);
        Assert.Contains("offset 'yesterday' is not an offset; expected a number, beginning or end.", notAnOffset);

        var (unknownExit, unknown) = await Cli.RunAsync("pause", "no-such-group", Topic, "2", "--gateway", silo.Gateway);
        Assert.Equal(2, unknownExit);
        Assert.Contains("no partition no-such-group/demo-orders/2 is known to the cluster", unknown);

        var (seekExit, seek) = await Cli.RunAsync("seek", Group, Topic, "2", "beginning", "--gateway", silo.Gateway);
        Assert.True(seekExit == 0, seek);
        Assert.Contains("demo-forwarder/demo-orders/2: offset 0 committed; the partition restarts there.", seek);

        // The forwarder runs partition 2 again from offset 0: its first record is forwarded a second time.
        Assert.True(await Poll.UntilAsync(async () => await ForwardedCountAsync(kafka, offset: 0) == 2, TimeSpan.FromSeconds(60)), "offset 0 was not forwarded again");

        var (moveExit, move) = await Cli.RunAsync("move", Group, Topic, "2", "10.1.2.3:11111", "--gateway", silo.Gateway);
        Assert.Equal(2, moveExit);
        Assert.Contains("Silo '10.1.2.3:11111' does not process this consumer group; expected one of: 127.0.0.1:", move);

        // Every command above closed its connection as a client should: the silo logged no reset for any.
        Assert.DoesNotContain(silo.Process.Output, line => line.Contains("ConnectionResetException", StringComparison.Ordinal));
    }

    private static async Task<int> ForwardedCountAsync(KafkaInspector kafka, long offset) =>
        (await kafka.ReadAllAsync("demo-orders-forwarded", TimeSpan.FromSeconds(2)))
            .Count(r => Header(r, "x-source-partition") == "2" && Header(r, "x-source-offset") == offset.ToString(CultureInfo.InvariantCulture));

    private static string Header(Confluent.Kafka.ConsumeResult<byte[]?, byte[]?> record, string name) =>
        record.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : string.Empty;
}
