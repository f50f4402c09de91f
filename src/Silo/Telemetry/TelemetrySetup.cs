using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OrleansKafka.AspNetCore;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Silo.Telemetry;

/// <summary>
/// The silo host's OpenTelemetry pipeline: the processing meter (and Orleans' own) scraped at
/// <c>/metrics</c>, and with <c>Telemetry:OtlpEndpoint</c> set, metrics and <c>process</c> spans
/// exported over OTLP.
/// </summary>
internal static class TelemetrySetup
{
    public const string MetricsPath = "/metrics";

    public static TelemetryOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection("Telemetry").Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.OtlpEndpoint is { Length: > 0 } endpoint && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"Telemetry:OtlpEndpoint is '{endpoint}'; expected an http:// or https:// URL such as http://127.0.0.1:4317.");
        }

        return options;
    }

    public static IServiceCollection AddSiloTelemetry(this IServiceCollection services, TelemetryOptions options, string serviceInstance)
    {
        var otlp = string.IsNullOrEmpty(options.OtlpEndpoint) ? null : new Uri(options.OtlpEndpoint);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("orleans-kafka-silo", serviceInstanceId: serviceInstance))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(KafkaTelemetry.MeterName, "Microsoft.Orleans");
                if (options.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            });
        if (otlp is not null)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(KafkaTelemetry.ActivitySourceName).AddOtlpExporter(o => o.Endpoint = otlp));
        }

        return services;
    }

    public static IEndpointRouteBuilder MapSiloTelemetry(this IEndpointRouteBuilder app, TelemetryOptions options)
    {
        if (options.Prometheus)
        {
            // Beyond loopback the scraper sends the operator token (Prometheus: authorization.credentials_file).
            app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(OrleansKafkaEndpointOptions.ReadsPolicyName);
        }

        return app;
    }
}
