namespace OrleansKafka.Telemetry;

/// <summary>
/// The names to give an OpenTelemetry (or any <c>System.Diagnostics</c>) pipeline: the meter of
/// the processing metrics and the activity source of the <c>process</c> spans.
/// </summary>
public static class KafkaTelemetry
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/>: <c>messaging.client.consumed.messages</c>, <c>messaging.process.duration</c> and the <c>orleanskafka.*</c> instruments.</summary>
    public const string MeterName = "OrleansKafka";

    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> of one <c>process</c> span per record (or per batch, linked to its records' contexts).</summary>
    public const string ActivitySourceName = "OrleansKafka";
}
