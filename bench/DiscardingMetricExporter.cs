using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace OrleansKafka.Bench;

/// <summary>
/// Takes the metrics and drops them: the benchmark silos aggregate the processing meter as the
/// silo host does (which serves it at /metrics), so its cost is in the figures.
/// </summary>
internal sealed class DiscardingMetricExporter : BaseExporter<Metric>
{
    public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
}
