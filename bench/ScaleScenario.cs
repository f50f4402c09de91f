using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Kafka;

namespace OrleansKafka.Bench;

/// <summary>One silo owning many partitions: memory and threads when idle, then under load.</summary>
internal static class ScaleScenario
{
    private const string Topic = "scale";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var partitions = options.Partitions ?? 1000;
        var records = options.Records ?? 200_000;
        using var kafka = EmbeddedKafkaCluster.Start(3);
        kafka.CreateTopic(Topic, partitions);
        var counter = new Counter();
        using var host = await BenchSilo.StartAsync<NoopProcessor>(kafka.BootstrapServers, Topic, "bench-scale", options.FetchConsumers ?? Configuration.KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(counter));

        // Idle: every partition owned, nothing to process.
        var leases = host.Services.GetRequiredService<Leases.LeaseTable>();
        await BenchSilo.WaitForOwnedAsync(host, "bench-scale", partitions);

        Report.Result("scale.partitions_owned", leases.OfGroup("bench-scale").Count());
        await Task.Delay(TimeSpan.FromSeconds(3));
        Report.Result("scale.idle_rss_mb", Report.RssMb());
        Report.Result("scale.idle_threads", Report.Threads());

        var peakThreads = 0;
        var peakRss = 0.0;
        var load = Task.Run(() => BenchKafka.Produce(kafka, Topic, partitions, records));
        var measure = new Measure();
        while (counter.Count < records)
        {
            peakThreads = Math.Max(peakThreads, Report.Threads());
            peakRss = Math.Max(peakRss, Report.RssMb());
            await Task.Delay(100);
        }

        await load;
        measure.Stop("scale.product", records);
        Report.Result("scale.rss_mb", Math.Max(peakRss, Report.RssMb()));
        Report.Result("scale.threads", peakThreads);
        await host.StopAsync();
        return 0;
    }
}
