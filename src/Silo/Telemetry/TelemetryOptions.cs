namespace OrleansKafka.Silo.Telemetry;

/// <summary>Where the silo host sends its metrics and traces. Bound from the <c>Telemetry</c> section.</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// An OTLP endpoint (for example <c>http://127.0.0.1:4317</c>) to export metrics and the
    /// <c>process</c> spans to. None by default: metrics are then served at <c>/metrics</c> only,
    /// and no span is recorded.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Serve the metrics at <c>/metrics</c> on the web host for Prometheus to scrape. Default true.</summary>
    public bool Prometheus { get; set; } = true;
}
