using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansKafka.Kafka;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Bench;

/// <summary>
/// <c>keygrains</c>, on three silos in this process (the key grains placed as the product places
/// them by default: on the silo owning their partition), each phase on a backlog (the partitions
/// paused while the records are produced, then resumed), so that it measures what the silos can
/// process rather than what they keep up with while an in-process producer takes its share of the
/// cores:
/// <list type="bullet">
/// <item>one partition, 1,000 keys, a key grain that awaits 2 ms per record (a call to another
/// service): records/s against the same work as a plain processor in partition order;
/// <c>keygrains.speedup</c> is their ratio;</item>
/// <item>12 partitions, a no-op key grain against the no-op plain processor on the same three
/// silos: <c>keygrains.ratio_to_plain</c>, with CPU µs and bytes allocated per record.</item>
/// </list>
/// Default options throughout (the key grain's <c>MaxInFlight</c> 100).
/// </summary>
internal static class KeyGrainsScenario
{
    private const int Keys = 1000;
    private const int Silos = 3;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        using var kafka = EmbeddedKafkaCluster.Start(3);
        // 100,000 by default, 4-5 s at the key grains' rate: at 20,000 their first second's
        // start-up moved the CPU per record between 37 and 52 µs from run to run.
        var awaiting = options.Records ?? 100_000;
        var serial = await RunAsync(kafka, "serial", 1, Math.Max(awaiting / 100, 200), keyGrain: false, work: true);
        var keyed = await RunAsync(kafka, "awaiting_key_grain", 1, awaiting, keyGrain: true, work: true);
        Report.Result("keygrains.speedup", keyed / serial);

        // A million by default: at 200,000 the plain phase lasted 0.2 s, and its start-up alone
        // moved the ratio between 0.25 and 0.45 from run to run.
        var noop = (options.Records ?? 100_000) * 10;
        var plain = await RunAsync(kafka, "plain", 12, noop, keyGrain: false, work: false);
        var grains = await RunAsync(kafka, "noop_key_grain", 12, noop, keyGrain: true, work: false);
        Report.Result("keygrains.ratio_to_plain", grains / plain);
        return 0;
    }

    /// <summary>Runs the records of a new topic through three silos; prints <c>keygrains.&lt;name&gt;.*</c> and returns records/s.</summary>
    private static async Task<double> RunAsync(EmbeddedKafkaCluster kafka, string name, int partitions, int records, bool keyGrain, bool work)
    {
        var topic = $"keygrains-{name.Replace('_', '-')}";
        kafka.CreateTopic(topic, partitions);
        var clock = new Clock(work);
        var group = $"bench-{topic}";
        Task<IHost> Start(int index) => keyGrain
            ? BenchSilo.StartKeyGrainAsync<IBenchKeyGrain>(kafka.BootstrapServers, topic, group, s => s.AddSingleton(clock), index)
            : BenchSilo.StartAsync<PlainProcessor>(kafka.BootstrapServers, topic, group, OrleansKafka.Configuration.KafkaProcessingOptions.DefaultFetchConsumers, s => s.AddSingleton(clock), index: index);
        var hosts = await Task.WhenAll(Enumerable.Range(0, Silos).Select(Start));

        // The records come once the partitions are spread (the first silo up takes them all, then hands some over).
        while (hosts.Select(h => h.Services.GetRequiredService<Leases.LeaseTable>().OfGroup(group).Count()).Count(n => n > 0) < Math.Min(partitions, Silos))
        {
            await Task.Delay(50);
        }

        // What the silos cost with nothing to process, then paused while the records are
        // produced; resumed all at once.
        var idle = await Measure.IdleCpuAsync(TimeSpan.FromSeconds(2));
        var factory = hosts[0].Services.GetRequiredService<IGrainFactory>();
        var partitionGrains = Enumerable.Range(0, partitions).Select(p => factory.GetGrain<OrleansKafka.Partitions.IPartitionGrain>(OrleansKafka.Partitions.PartitionGrainKey.Format(group, topic, p))).ToList();
        await Task.WhenAll(partitionGrains.Select(g => g.PauseAsync()));
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 5, CompressionType = CompressionType.Lz4 }).Build())
        {
            // A key's records in one partition, as Kafka's partitioner keeps them (1,000 keys over
            // the partitions); spread by offset instead, each key's grain had three partitions,
            // on different silos, calling it.
            var value = new byte[100];
            for (var i = 0; i < records; i++)
            {
                BenchKafka.ProduceOrWait(producer, new TopicPartition(topic, i % Keys % partitions), new Message<string, byte[]> { Key = $"key-{i % Keys}", Value = value });
            }

            producer.Flush(TimeSpan.FromMinutes(1));
        }

        if (clock.Count > 0)
        {
            Report.Note($"{name}: {clock.Count} records were processed while the partitions were paused");
        }

        await Task.WhenAll(partitionGrains.Select(g => g.ResumeAsync()));

        var deadline = Stopwatch.GetTimestamp() + (long)(TimeSpan.FromMinutes(5).TotalSeconds * Stopwatch.Frequency);
        while (clock.Count < records && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }

        clock.FromFirst?.Stop($"keygrains.{name}", clock.Count - 1, idle);
        foreach (var host in hosts.Reverse())
        {
            await host.StopAsync();
            host.Dispose();
        }

        var rate = (clock.Count - 1) / Stopwatch.GetElapsedTime(clock.FirstAt, clock.LastAt).TotalSeconds;
        Report.Note($"{name}: {clock.Count} of {records} records at {rate:0} records/s, processed on {clock.Silos} silo(s)");
        return rate;
    }

    /// <summary>The work as a plain processor, in partition order.</summary>
    private sealed class PlainProcessor(Clock clock, Orleans.Runtime.ILocalSiloDetails silo) : OrleansKafka.Processing.IRecordProcessor<byte[], byte[]>
    {
        public async ValueTask ProcessAsync(OrleansKafka.Processing.KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
        {
            await clock.WorkAsync();
            clock.Done(silo.Name);
        }
    }

    /// <summary>The work as a key grain, with no placement of its own (the product's default).</summary>
    internal sealed class BenchKeyGrain(Clock clock, Orleans.Runtime.ILocalSiloDetails silo) : Grain, IBenchKeyGrain
    {
        public async Task ProcessAsync(KeyedRecord<byte[]> record)
        {
            await clock.WorkAsync();
            clock.Done(silo.Name);
        }
    }

    internal sealed class Clock(bool work)
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _silos = new();
        private long _count;
        private long _firstAt;
        private long _lastAt;
        private Measure? _fromFirst;

        public long Count => Interlocked.Read(ref _count);

        public long FirstAt => Interlocked.Read(ref _firstAt);

        public long LastAt => Interlocked.Read(ref _lastAt);

        public int Silos => _silos.Count;

        public Measure? FromFirst => Volatile.Read(ref _fromFirst);

        /// <summary>2 ms of waiting (a call to another service), or nothing.</summary>
        public Task WorkAsync() => work ? Task.Delay(TimeSpan.FromMilliseconds(2)) : Task.CompletedTask;

        public void Done(string silo)
        {
            _silos.TryAdd(silo, true);
            var now = Stopwatch.GetTimestamp();
            if (Interlocked.Increment(ref _count) == 1)
            {
                Interlocked.Exchange(ref _firstAt, now);
                Volatile.Write(ref _fromFirst, new Measure());
            }

            Interlocked.Exchange(ref _lastAt, now);
        }
    }
}

public interface IBenchKeyGrain : IKafkaKeyGrain<byte[]>, IGrainWithStringKey;
