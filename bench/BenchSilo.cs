using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OrleansKafka.Configuration;
using OrleansKafka.Hosting;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Bench;

/// <summary>An Orleans silo host running one processor on the benchmark topic; several form one cluster on loopback.</summary>
internal static class BenchSilo
{
    private const int SiloPort = 21111;
    // Below Linux's ephemeral range (32768-60999): a client connection's local port there made a
    // silo's gateway fail to bind in one run of throughput --silos 3.
    private const int GatewayPort = 30000;

    /// <summary>Starts silo number <paramref name="index"/>: 0 is the cluster's primary, the others join it.</summary>
    public static Task<IHost> StartAsync<TProcessor>(string bootstrap, string topic, string group, int fetchConsumers, Action<IServiceCollection> services, IReadOnlyDictionary<string, string>? consumerSettings = null, int index = 0, Action<ProcessorOptions>? processor = null)
        where TProcessor : class =>
        StartAsync((b, configure) => b.AddProcessor<TProcessor>("bench", configure), bootstrap, topic, group, fetchConsumers, services, consumerSettings, index, processor);

    /// <summary>As <see cref="StartAsync{TProcessor}"/>, with the key grain <typeparamref name="TGrain"/> as the processor.</summary>
    public static Task<IHost> StartKeyGrainAsync<TGrain>(string bootstrap, string topic, string group, Action<IServiceCollection> services, int index = 0)
        where TGrain : IGrain =>
        StartAsync((b, configure) => b.AddKeyGrain<TGrain>("bench", configure), bootstrap, topic, group, KafkaProcessingOptions.DefaultFetchConsumers, services, null, index, null);

    /// <summary>As <see cref="StartAsync{TProcessor}"/>, with the Kafka stream provider <c>kafka</c> (byte[] values) reading the topic.</summary>
    public static Task<IHost> StartStreamsAsync(string bootstrap, string topic, string group, Action<IServiceCollection> services) =>
        StartAsync((b, configure) => b.AddKafkaStreams<byte[]>("kafka", configure), bootstrap, topic, group, KafkaProcessingOptions.DefaultFetchConsumers, services, null, 0, null);

    private static async Task<IHost> StartAsync(Action<IKafkaProcessingBuilder, Action<ProcessorOptions>> register, string bootstrap, string topic, string group, int fetchConsumers, Action<IServiceCollection> services, IReadOnlyDictionary<string, string>? consumerSettings, int index, Action<ProcessorOptions>? processor)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        services(builder.Services);
        // The silo host aggregates the processing meter for /metrics, and so do the benchmark
        // silos: one metrics pipeline per process, in the first silo. An OpenTelemetry pipeline
        // listens to every meter of its name in the process, so one per silo would record each
        // silo's measurements once per silo of the process, which a deployed silo never does.
        if (index == 0)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(KafkaTelemetry.MeterName)
                .AddReader(new PeriodicExportingMetricReader(new DiscardingMetricExporter(), exportIntervalMilliseconds: 10_000)));
        }
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(SiloPort + index, GatewayPort + index, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, SiloPort));
            var processing = silo.AddKafkaProcessing(configure: o =>
            {
                o.BootstrapServers = bootstrap;
                o.FetchConsumers = fetchConsumers;
                if (Environment.GetEnvironmentVariable("BENCH_SILO_BUFFER_BYTES") is { } siloBuffer)
                {
                    o.SiloBufferBytes = long.Parse(siloBuffer, System.Globalization.CultureInfo.InvariantCulture);
                }

                if (Environment.GetEnvironmentVariable("BENCH_MIN_THREAD_POOL_THREADS") is { } threads)
                {
                    o.MinThreadPoolThreads = int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture);
                }

                if (Environment.GetEnvironmentVariable("BENCH_MAX_BATCH_SIZE") is { } batch)
                {
                    o.MaxBatchSize = int.Parse(batch, System.Globalization.CultureInfo.InvariantCulture);
                }

                if (Environment.GetEnvironmentVariable("BENCH_MAX_KEY_ORDERED_BATCH_SIZE") is { } keyed)
                {
                    o.MaxKeyOrderedBatchSize = int.Parse(keyed, System.Globalization.CultureInfo.InvariantCulture);
                }

                if (Environment.GetEnvironmentVariable("BENCH_PARTITION_BUFFER_BYTES") is { } buffer)
                {
                    o.PartitionBufferBytes = int.Parse(buffer, System.Globalization.CultureInfo.InvariantCulture);
                }
                // Librdkafka settings only where a scenario says so (throughput --tuned, backlog's
                // overrides, latency's short fetch wait); otherwise the product's own, as users get them.
                foreach (var (key, value) in consumerSettings ?? new Dictionary<string, string>())
                {
                    o.Consumer[key] = value;
                }
            });
            register(processing, p =>
            {
                p.Topic = topic;
                p.Group = group;
                processor?.Invoke(p);
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Waits until the silo holds a lease on every partition of the group.</summary>
    public static async Task WaitForOwnedAsync(IHost host, string group, int partitions)
    {
        var leases = host.Services.GetRequiredService<Leases.LeaseTable>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (leases.OfGroup(group).Count() < partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the silo did not acquire all {partitions} partitions of {group}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Polls the group's committed offsets until they reach the high watermarks.</summary>
    public static async Task WaitForCommittedAsync(string bootstrap, string topic, string group, int partitions, long[] high, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group }).Build();
        var all = Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)).ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var committed = await Task.Run(() => consumer.Committed(all, TimeSpan.FromSeconds(10)));
            if (committed.All(c => c.Offset.Value >= high[c.Partition.Value]))
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"group {group} did not commit everything within {timeout}");
    }

    /// <summary>Commits the given offsets for a group, as if it had processed everything before them.</summary>
    public static void Commit(string bootstrap, string topic, string group, long[] offsets)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group }).Build();
        consumer.Commit(offsets.Select((offset, p) => new TopicPartitionOffset(topic, p, offset)));
    }

    public static long[] HighWatermarks(string bootstrap, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-watermarks" }).Build();
        return [.. Enumerable.Range(0, partitions).Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value)];
    }
}
