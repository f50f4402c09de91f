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

    /// <summary>
    /// Maps <c>/kafka</c> (the page), <c>/kafka/partitions</c> (its JSON) and the hold decisions
    /// <c>POST /kafka/partitions/{group}/{topic}/{partition}/{retry|skip|dead-letter}</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapKafkaPage(this IEndpointRouteBuilder endpoints, ActionAccess access)
    {
        endpoints.MapGet("/kafka", () => Results.Content(Html.Value, "text/html; charset=utf-8"));
        endpoints.MapGet("/kafka/partitions", async (IGrainFactory grains) => await PartitionDirectory.GetStatusesAsync(grains));
        endpoints.MapPost("/kafka/partitions/{group}/{topic}/{partition:int}/{action}", async (string group, string topic, int partition, string action, HttpRequest request, IGrainFactory grains) =>
        {
            if (access.Refusal(request) is { } refusal)
            {
                return refusal;
            }

            HoldDecision? decision = action switch
            {
                "retry" => HoldDecision.Retry,
                "skip" => HoldDecision.Skip,
                "dead-letter" => HoldDecision.DeadLetter,
                _ => null,
            };
            if (decision is null)
            {
                return Results.Problem($"'{action}' is not an action; expected retry, skip or dead-letter.", statusCode: StatusCodes.Status400BadRequest);
            }

            try
            {
                await grains.GetGrain<IPartitionGrain>(PartitionGrainKey.Format(group, topic, partition)).ResolveHoldAsync(decision.Value);
                return Results.Ok(new { group, topic, partition, decision = decision.Value.ToString() });
            }
            catch (InvalidOperationException e)
            {
                return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
            }
        });
        return endpoints;
    }
}
