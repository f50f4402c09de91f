using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OrleansKafka.AspNetCore.Health;

/// <summary>
/// <c>{prefix}/live</c>: the process answers (a restart would not help anything else).
/// <c>{prefix}/ready</c>: the checks tagged <see cref="ReadyTag"/> (the silo is Active in its
/// cluster, Kafka answers, every lease grain answers its heartbeats); 503 with the reason
/// otherwise. Both are open reads, for probes, and say nothing about records.
/// </summary>
internal static class HealthEndpoints
{
    public const string ReadyTag = "ready";
    public const string DefaultPrefix = "/health";
    public const string DefaultLivePath = DefaultPrefix + "/live";
    public const string DefaultReadyPath = DefaultPrefix + "/ready";

    public static void Map(IEndpointRouteBuilder endpoints, string prefix)
    {
        endpoints.MapHealthChecks($"{prefix}/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        endpoints.MapHealthChecks($"{prefix}/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        });
    }
}
