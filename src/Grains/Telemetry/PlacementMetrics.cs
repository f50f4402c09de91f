using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OrleansKafka.Leasing;

namespace OrleansKafka.Telemetry;

/// <summary>
/// The group instruments, observed from the figures the lease grains active on this silo last
/// published: <c>orleanskafka.group.silos_desired</c> and <c>orleanskafka.group.cost</c>. Only the
/// silo a group's lease grain is active on reports that group (take the maximum across silos).
/// </summary>
internal sealed class PlacementMetrics
{
    /// <summary>The gauge a platform scales the silos on (deploy/kubernetes/autoscaling).</summary>
    public const string SilosDesiredName = "orleanskafka.group.silos_desired";

    private readonly ConcurrentDictionary<string, GroupLoad> _groups = new(StringComparer.Ordinal);

    public PlacementMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(KafkaTelemetry.MeterName);
        meter.CreateObservableGauge(
            SilosDesiredName,
            () => _groups.Select(g => new Measurement<int>(g.Value.SilosDesired, Tag(g.Key))),
            "{silo}",
            "Silos the consumer group needs: its partitions' measured cost (each up to 1) over 0.8 of a silo's capacity, rounded up, from 1 to the partition count.");
        meter.CreateObservableGauge(
            "orleanskafka.group.cost",
            () => _groups.Select(g => new Measurement<double>(g.Value.Cost, Tag(g.Key))),
            "s/s",
            "The consumer group's partitions' measured cost together: busy seconds of processing a second.");
    }

    /// <summary>The latest figures of a group whose lease grain is active here.</summary>
    public void Publish(string group, GroupLoad load) => _groups[group] = load;

    /// <summary>The group's lease grain is no longer active here.</summary>
    public void Withdraw(string group) => _groups.TryRemove(group, out _);

    private static KeyValuePair<string, object?> Tag(string group) => new("messaging.consumer.group.name", group);
}
