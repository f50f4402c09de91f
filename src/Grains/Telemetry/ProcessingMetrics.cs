using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OrleansKafka.Leases;

namespace OrleansKafka.Telemetry;

/// <summary>
/// This silo's processing instruments, named by the OpenTelemetry messaging conventions where
/// they apply. Counts and durations are recorded per partition (<see cref="PartitionTelemetry"/>);
/// lag and owned partitions are observed from the leases when a reader collects.
/// </summary>
internal sealed class ProcessingMetrics
{
    private readonly ConcurrentDictionary<(string Group, string Topic, int Partition), PartitionTelemetry> _partitions = new();

    public ProcessingMetrics(IMeterFactory meters, LeaseTable leases)
    {
        var meter = meters.Create(KafkaTelemetry.MeterName);
        // Counted by each partition in a field of its own and read when a reader collects: one
        // addition per record on the processing path instead of a tag lookup.
        meter.CreateObservableCounter(
            "messaging.client.consumed.messages",
            () => _partitions.Values.SelectMany(p => p.ConsumedMeasurements()),
            "{message}",
            "Records handed to a processor, with error.type when it gave up on them (a record run again after a failed batch or an operator's retry counts again).");
        ProcessDuration = meter.CreateHistogram<double>(
            "messaging.process.duration",
            "s",
            "How long a processor took over a record or a batch, retries included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        Retries = meter.CreateCounter<long>("orleanskafka.records.retried", "{attempt}", "Failed processor attempts that were retried.");
        DeadLettered = meter.CreateCounter<long>("orleanskafka.records.dead_lettered", "{message}", "Records written to a dead-letter topic.");
        Skipped = meter.CreateCounter<long>("orleanskafka.records.skipped", "{message}", "Records skipped after their processor gave up on them.");
        Held = meter.CreateCounter<long>("orleanskafka.records.held", "{message}", "Times a partition started holding at a record for an operator.");
        meter.CreateObservableGauge(
            "orleanskafka.partition.lag",
            () => leases.All().Where(l => l.IsCurrent && l.HighWatermark >= 0 && l.CommittedOffset >= 0)
                .Select(l => new Measurement<long>(Math.Max(0, l.HighWatermark - l.CommittedOffset), PartitionTelemetry.Tags(l.Group, l.Partition.Topic, l.Partition.Partition.Value))),
            "{message}",
            "Records of an owned partition past its committed offset (high watermark minus committed offset).");
        meter.CreateObservableGauge(
            "orleanskafka.partition.cost",
            () => leases.All().Where(l => l.IsCurrent && l.Load.LastCost is not null)
                .Select(l => new Measurement<double>(l.Load.LastCost!.Value, PartitionTelemetry.Tags(l.Group, l.Partition.Topic, l.Partition.Partition.Value))),
            "s/s",
            "An owned partition's measured cost: seconds of processing per record × (records arriving a second + lag / 60 s).");
        meter.CreateObservableGauge(
            "orleanskafka.keys.held",
            () => OwnedPartitions(leases).Select(p => new Measurement<int>(p.HeldKeyCount, p.PartitionTags)),
            "{key}",
            "Keys an owned partition holds (OnFailure HoldKey) until an operator retries, skips or dead-letters their record.");
        meter.CreateObservableGauge(
            "orleanskafka.records.waiting",
            () => OwnedPartitions(leases).Select(p => new Measurement<int>(p.RecordsWaiting, p.PartitionTags)),
            "{message}",
            "Records of an owned partition waiting behind held keys, the held ones included.");
        meter.CreateObservableGauge(
            "orleanskafka.partitions.owned",
            () => leases.All().Where(l => l.IsCurrent).GroupBy(l => l.Group, StringComparer.Ordinal)
                .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("messaging.consumer.group.name", g.Key))),
            "{partition}",
            "Partitions this silo holds a current lease on, per consumer group.");
    }

    /// <summary>The telemetry of the partitions this silo holds a current lease on that have held keys or had them.</summary>
    private IEnumerable<PartitionTelemetry> OwnedPartitions(LeaseTable leases)
    {
        var owned = leases.All().Where(l => l.IsCurrent).Select(l => (l.Group, l.Partition.Topic, l.Partition.Partition.Value)).ToHashSet();
        return _partitions.Values.Where(p => owned.Contains(p.Partition) && (p.HeldKeyCount > 0 || p.RecordsWaiting > 0 || p.ReportedKeys));
    }

    /// <summary>
    /// A partition's telemetry on this silo, the same one for every activation of its grain here:
    /// its cumulative counts go on across a re-activation rather than starting again from 0.
    /// </summary>
    public PartitionTelemetry For(string group, string topic, int partition) =>
        _partitions.GetOrAdd((group, topic, partition), key => new PartitionTelemetry(this, key.Group, key.Topic, key.Partition));

    public Histogram<double> ProcessDuration { get; }

    public Counter<long> Retries { get; }

    public Counter<long> DeadLettered { get; }

    public Counter<long> Skipped { get; }

    public Counter<long> Held { get; }

    /// <summary>The spans' source; one per process, as spans carry no silo-specific state.</summary>
    public static ActivitySource Source { get; } = new(KafkaTelemetry.ActivitySourceName);
}
