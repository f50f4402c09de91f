using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansKafka.Partitions;

namespace OrleansKafka.Silo.Inspection;

/// <summary>
/// The Kafka page beside the Orleans dashboard: every partition grain of every group, live, from
/// the JSON API next to it. Plain HTML and script, embedded in the silo host; no build step.
/// </summary>
internal static class KafkaPage
{
    private static readonly Lazy<string> Html = new(() =>
    {
        using var stream = typeof(KafkaPage).Assembly.GetManifestResourceStream("OrleansKafka.Silo.Inspection.kafka.html")
            ?? throw new InvalidOperationException("The Kafka page is missing from the silo host's resources (Inspection/kafka.html).");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>Maps <c>/kafka</c> (the page) and <c>/kafka/partitions</c> (its JSON).</summary>
    public static IEndpointRouteBuilder MapKafkaPage(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/kafka", () => Results.Content(Html.Value, "text/html; charset=utf-8"));
        endpoints.MapGet("/kafka/partitions", async (IGrainFactory grains) => await PartitionDirectory.GetStatusesAsync(grains));
        return endpoints;
    }
}
