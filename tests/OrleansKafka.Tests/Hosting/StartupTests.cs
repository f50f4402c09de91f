using System.Diagnostics;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Hosting;

[Trait("Category", "Kafka")]
public sealed class StartupTests
{
    [Fact]
    public async Task Start_ProcessorForMissingTopic_FailsWithinSecondsNamingTheTopic()
    {
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["exists"] = 1;
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "does-not-exist"; x.Group = "g"; });
        }));

        Assert.Contains("Topic 'does-not-exist'", Flatten(error));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"start-up took {clock.Elapsed} to fail");
    }

    [Fact]
    public async Task Start_UnreachableBootstrapServers_FailsWithinSecondsNamingTheSetting()
    {
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["t"] = 1;
            o.Configure = k => { k.BootstrapServers = "127.0.0.1:9"; k.StartupTimeout = TimeSpan.FromSeconds(3); };
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "t"; x.Group = "g"; });
        }));

        Assert.Contains("Kafka:BootstrapServers = '127.0.0.1:9'", Flatten(error));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"start-up took {clock.Elapsed} to fail");
    }

    [Fact]
    public async Task Start_ProcessorConfiguredButNotRegistered_FailsNamingIt()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["t"] = 1;
            o.Configure = k => k.Processors["ghost"] = new OrleansKafka.Configuration.ProcessorOptions { Topic = "t", Group = "g" };
        }));

        Assert.Contains("Kafka:Processors:ghost configures a processor that is not registered", Flatten(error));
    }

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        return string.Join(" | ", messages);
    }
}
