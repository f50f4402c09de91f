using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Telemetry;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Telemetry;

/// <summary>
/// The processing meter and spans, read with a <see cref="MeterListener"/> and an
/// <see cref="ActivityListener"/> from an in-process cluster on the embedded Kafka. Other test
/// classes run clusters at the same time, so every measurement is picked by this test's own group.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class ProcessingTelemetryTests
{
    private const string Topic = "metered";

    [Fact]
    public async Task Metrics_CountRecordsRetriesAndSkipsPerPartition_TimeEachRecord_AndObserveLagAndOwnedPartitions()
    {
        var group = $"metrics-{Guid.NewGuid():N}";
        using var meter = new Recorder(group);
        var (log, plan) = (new RecordLog(), new PoisonPlan(partition: 0, offset: 2));
        await using var cluster = await StartAsync<PoisonProcessor>(group, s => s.AddSingleton(log).AddSingleton(plan), FailureAction.Skip);

        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 5).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 0);
        await cluster.ProduceAsync(Topic, Enumerable.Range(0, 4).Select(i => ((string?)$"k{i}", (string?)$"v{i}")), partition: 1);
        await cluster.WaitForCommittedAsync(group, Topic, new Dictionary<int, long> { [0] = 5, [1] = 4 });

        var consumed = meter.ObserveConsumed();
        Assert.Equal(4, consumed[("0", null)]);
        Assert.Equal(1, consumed[("0", typeof(InvalidOperationException).FullName)]);
        Assert.Equal(4, consumed[("1", null)]);
        Assert.Equal(3, consumed.Count);
        Assert.Equal(5, meter.Count("messaging.process.duration", "0"));
        Assert.Equal(1, meter.Count("messaging.process.duration", "0", errorType: typeof(InvalidOperationException).FullName));
        Assert.Equal(2, meter.Sum("orleanskafka.records.retried", "0"));
        Assert.Equal(0, meter.Sum("orleanskafka.records.retried", "1"));
        Assert.Equal(1, meter.Sum("orleanskafka.records.skipped", "0"));

        // Observed on collection: both partitions owned, and no lag once the commits are known.
        Assert.True(
            await Poll.UntilAsync(() => Task.FromResult(meter.Observe("orleanskafka.partition.lag") is { Count: 2 } lag && lag.Values.All(v => v == 0)), TimeSpan.FromSeconds(15)),
            $"lag observed: {string.Join(", ", meter.Observe("orleanskafka.partition.lag"))}");
        Assert.Equal(2, meter.Observe("orleanskafka.partitions.owned").Values.Single());
    }

    [Fact]
    public async Task Spans_OneProcessSpanPerRecord_ContinuesTheTraceContextOfTheRecordsHeaders()
    {
        var group = $"traces-{Guid.NewGuid():N}";
        var (traceId, parentSpanId) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == KafkaTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (Equals(a.GetTagItem("messaging.consumer.group.name"), group))
                {
                    spans.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var log = new RecordLog();
        await using var cluster = await StartAsync<RecordingProcessor>(group, s => s.AddSingleton(log), FailureAction.Hold);

        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.Kafka.BootstrapServers }).Build())
        {
            var headers = new Headers { { "traceparent", Encoding.ASCII.GetBytes($"00-{traceId}-{parentSpanId}-01") } };
            await producer.ProduceAsync(new TopicPartition(Topic, 1), new Message<string, string> { Key = "traced", Value = "v", Headers = headers });
            await producer.ProduceAsync(new TopicPartition(Topic, 1), new Message<string, string> { Key = "untraced", Value = "v" });
        }

        await cluster.WaitForCommittedAsync(group, Topic, new Dictionary<int, long> { [1] = 2 });

        Assert.True(await Poll.UntilAsync(() => Task.FromResult(spans.Count >= 2), TimeSpan.FromSeconds(10)), $"{spans.Count} spans");
        var traced = Assert.Single(spans, s => Equals(s.GetTagItem("messaging.kafka.offset"), 0L));
        Assert.Equal(traceId, traced.TraceId);
        Assert.Equal(parentSpanId, traced.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, traced.Kind);
        Assert.Equal($"process {Topic}", traced.DisplayName);
        Assert.Equal(("kafka", Topic, "1", "process"), (traced.GetTagItem("messaging.system"), traced.GetTagItem("messaging.destination.name"), traced.GetTagItem("messaging.destination.partition.id"), traced.GetTagItem("messaging.operation.type")));
        var untraced = Assert.Single(spans, s => Equals(s.GetTagItem("messaging.kafka.offset"), 1L));
        Assert.NotEqual(traceId, untraced.TraceId);
    }

    private static Task<KafkaTestCluster> StartAsync<TProcessor>(string group, Action<IServiceCollection> services, FailureAction onFailure)
        where TProcessor : class =>
        KafkaTestCluster.StartAsync(o =>
        {
            o.Silos = 1;
            o.Topics[Topic] = 2;
            o.Services = services;
            o.Processors = p => p.AddProcessor<TProcessor>("under-test", x =>
            {
                x.Topic = Topic;
                x.Group = group;
                x.MaxAttempts = 3;
                x.OnFailure = onFailure;
                x.FirstRetryDelay = TimeSpan.FromMilliseconds(10);
                x.MaxRetryDelay = TimeSpan.FromMilliseconds(50);
            });
        });

    /// <summary>The measurements of the processing meter that carry one consumer group.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
        private readonly string _group;

        public Recorder(string group)
        {
            _group = group;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == KafkaTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
            _listener.Start();
        }

        public double Sum(string instrument, string partition, string? errorType = null) =>
            Of(instrument, partition, errorType).Sum(m => m.Value);

        public int Count(string instrument, string partition, string? errorType = null) => Of(instrument, partition, errorType).Count();

        /// <summary>Collects <c>messaging.client.consumed.messages</c> once: the count by partition and error type (null: processed).</summary>
        public Dictionary<(string Partition, string? ErrorType), double> ObserveConsumed()
        {
            var before = _measurements.Count;
            _listener.RecordObservableInstruments();
            return _measurements.Skip(before)
                .Where(m => m.Instrument == "messaging.client.consumed.messages" && Equals(m.Tags.GetValueOrDefault("messaging.consumer.group.name"), _group))
                .ToDictionary(m => ((string)m.Tags["messaging.destination.partition.id"]!, m.Tags.GetValueOrDefault("error.type") as string), m => m.Value);
        }

        /// <summary>Collects the observable instruments once: the values by partition (or by group when there is no partition).</summary>
        public Dictionary<string, double> Observe(string instrument)
        {
            var before = _measurements.Count;
            _listener.RecordObservableInstruments();
            return _measurements.Skip(before)
                .Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault("messaging.consumer.group.name"), _group))
                .GroupBy(m => m.Tags.GetValueOrDefault("messaging.destination.partition.id") as string ?? _group)
                .ToDictionary(g => g.Key, g => g.Last().Value);
        }

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Instrument, double Value, Dictionary<string, object?> Tags)> Of(string instrument, string partition, string? errorType) =>
            _measurements.Where(m => m.Instrument == instrument
                && Equals(m.Tags.GetValueOrDefault("messaging.consumer.group.name"), _group)
                && Equals(m.Tags.GetValueOrDefault("messaging.destination.partition.id"), partition)
                && (errorType is null || Equals(m.Tags.GetValueOrDefault("error.type"), errorType)));

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            _measurements.Enqueue((instrument.Name, value, copy));
        }
    }
}
