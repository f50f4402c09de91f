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
    /// Maps <c>/kafka</c> (the page), <c>/kafka/partitions</c> (its JSON), a partition's
    /// ownership history <c>/kafka/partitions/{group}/{topic}/{partition}/history</c>, and the
    /// actions <c>POST /kafka/partitions/{group}/{topic}/{partition}/{pause|resume|retry|skip|dead-letter}</c>,
    /// <c>.../seek?offset={n|beginning|end}</c> and <c>.../move?silo={host:port}</c>. Everything
    /// but the page answers only requests from the page's own origin or from clients that are not
    /// browsers (<see cref="SameOriginOnly"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapKafkaPage(this IEndpointRouteBuilder endpoints, ActionAccess access)
    {
        endpoints.MapGet("/kafka", () => Results.Content(Html.Value, "text/html; charset=utf-8"));
        var api = endpoints.MapGroup("/kafka/partitions").AddEndpointFilter<SameOriginOnly>();
        api.MapGet(string.Empty, async (IGrainFactory grains) => await grains.GetPartitionStatusesAsync());
        api.MapGet("/{group}/{topic}/{partition:int}/history", (string group, string topic, int partition, IGrainFactory grains) =>
            partition < 0 ? Task.FromResult(NegativePartition(partition)) : RunAsync(() => Grain(grains, group, topic, partition).GetHistoryAsync()));
        api.MapPost("/{group}/{topic}/{partition:int}/{action}", (string group, string topic, int partition, string action, HttpRequest request, IGrainFactory grains) =>
        {
            if (access.Refusal(request) is { } refusal)
            {
                return Task.FromResult(refusal);
            }

            if (partition < 0)
            {
                return Task.FromResult(NegativePartition(partition));
            }

            var grain = Grain(grains, group, topic, partition);
            var query = request.Query;
            if (action == "seek")
            {
                return PartitionSeek.TryParse(query["offset"], out var offset)
                    ? RunAsync(async () => new { group, topic, partition, action, offset = await grain.SeekAsync(offset) })
                    : Task.FromResult(Results.Problem($"seek needs ?offset= with an offset, 'beginning' or 'end'; got '{query["offset"]}'.", statusCode: StatusCodes.Status400BadRequest));
            }

            if (action == "move")
            {
                return query["silo"].ToString() is { Length: > 0 } silo
                    ? RunAsync(async () =>
                    {
                        await grain.MoveAsync(silo);
                        return new { group, topic, partition, action, silo };
                    })
                    : Task.FromResult(Results.Problem("move needs ?silo= with the endpoint of a silo of the group, as status shows it (host:port).", statusCode: StatusCodes.Status400BadRequest));
            }

            Func<Task>? run = action switch
            {
                "pause" => grain.PauseAsync,
                "resume" => grain.ResumeAsync,
                "retry" => () => grain.ResolveHoldAsync(HoldDecision.Retry),
                "skip" => () => grain.ResolveHoldAsync(HoldDecision.Skip),
                "dead-letter" => () => grain.ResolveHoldAsync(HoldDecision.DeadLetter),
                _ => null,
            };
            return run is null
                ? Task.FromResult(Results.Problem($"'{action}' is not an action; expected pause, resume, seek, move, retry, skip or dead-letter.", statusCode: StatusCodes.Status400BadRequest))
                : RunAsync(async () =>
                {
                    await run();
                    return new { group, topic, partition, action };
                });
        });
        return endpoints;
    }

    private static IResult NegativePartition(int partition) =>
        Results.Problem($"Partition {partition} is not a partition number; expected 0 or more.", statusCode: StatusCodes.Status400BadRequest);

    private static IPartitionGrain Grain(IGrainFactory grains, string group, string topic, int partition) =>
        grains.GetPartitionGrain(group, topic, partition);

    /// <summary>The grain's answer as JSON, or its refusal (a partition that is not there, not holding, ...) as a 409 naming why.</summary>
    private static async Task<IResult> RunAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return Results.Ok(await call());
        }
        catch (InvalidOperationException e)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }
}
