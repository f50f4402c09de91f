using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansKafka.AspNetCore.Access;
using OrleansKafka.Partitions;

namespace OrleansKafka.AspNetCore.Api;

/// <summary>
/// The page's JSON API: <c>GET {prefix}/partitions</c> (every partition's status),
/// <c>GET .../{group}/{topic}/{partition}/history</c> (its ownership history), and the actions
/// <c>POST .../{group}/{topic}/{partition}/{pause|resume|retry|skip|dead-letter}</c>,
/// <c>.../seek?offset={n|beginning|end}</c> and <c>.../move?silo={host:port}</c>, and a held key's
/// <c>POST .../{group}/{topic}/{partition}/keys/{offset}/{retry|skip|dead-letter}</c> (the key named
/// by the offset of the record it holds at, as the status lists it). A partition the
/// cluster does not know (its group not in the catalog, or not assigned by the group's lease
/// grain) answers 404 before any partition grain is called, so made-up names activate nothing.
/// </summary>
internal static class PartitionApi
{
    private const string Item = "/{group}/{topic}/{partition:int}";

    /// <summary>The API's JSON: the web defaults, enums as names ("Idle"), whatever the host's own JSON options.</summary>
    /// <summary>The API's JSON: web names, enums as text.</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static void Map(RouteGroupBuilder api, string readPolicy, string actionPolicy)
    {
        api.MapGet(string.Empty, async (IGrainFactory grains) => Results.Json(await grains.GetPartitionStatusesAsync(), Json)).RequireAuthorization(readPolicy);
        api.MapGet($"{Item}/history", (string group, string topic, int partition, IGrainFactory grains) =>
            OnKnownAsync(grains, group, topic, partition, async grain => Results.Json(await grain.GetHistoryAsync(), Json)))
            .RequireAuthorization(readPolicy);
        api.MapPost($"{Item}/keys/{{offset:long}}/{{action}}", (string group, string topic, int partition, long offset, string action, IGrainFactory grains) =>
            DecisionOf(action) is not { } decision
                ? Task.FromResult(BadRequest($"'{action}' is not a decision about a held key; expected retry, skip or dead-letter."))
                : OnKnownAsync(grains, group, topic, partition, async grain =>
                {
                    await grain.ResolveKeyHoldAsync(offset, decision);
                    return Results.Json(new { group, topic, partition, action, offset }, Json);
                }))
            .RequireAuthorization(actionPolicy)
            .AddEndpointFilter<PageAntiforgery>();
        api.MapPost($"{Item}/{{action}}", (string group, string topic, int partition, string action, HttpRequest request, IGrainFactory grains) =>
            Parse(action, request.Query) is { } problem
                ? Task.FromResult(problem)
                : OnKnownAsync(grains, group, topic, partition, grain => ActAsync(grain, group, topic, partition, action, request.Query)))
            .RequireAuthorization(actionPolicy)
            .AddEndpointFilter<PageAntiforgery>();
    }

    /// <summary>A 400 naming what is wrong with the action or its query; null when it is well formed.</summary>
    private static IResult? Parse(string action, IQueryCollection query) => action switch
    {
        "pause" or "resume" or "retry" or "skip" or "dead-letter" => null,
        "seek" => PartitionSeek.TryParse(query["offset"], out _) ? null : BadRequest($"seek needs ?offset= with an offset, 'beginning' or 'end'; got '{query["offset"]}'."),
        "move" => query["silo"].ToString().Length > 0 ? null : BadRequest("move needs ?silo= with the endpoint of a silo of the group, as status shows it (host:port)."),
        _ => BadRequest($"'{action}' is not an action; expected pause, resume, seek, move, retry, skip or dead-letter."),
    };

    private static async Task<IResult> ActAsync(IPartitionGrain grain, string group, string topic, int partition, string action, IQueryCollection query)
    {
        switch (action)
        {
            case "seek":
                PartitionSeek.TryParse(query["offset"], out var offset);
                var committed = await grain.SeekAsync(offset);
                return Results.Json(new { group, topic, partition, action, offset = committed }, Json);
            case "move":
                var silo = query["silo"].ToString();
                await grain.MoveAsync(silo);
                return Results.Json(new { group, topic, partition, action, silo }, Json);
            case "pause":
                await grain.PauseAsync();
                break;
            case "resume":
                await grain.ResumeAsync();
                break;
            default:
                await grain.ResolveHoldAsync(DecisionOf(action)!.Value);
                break;
        }

        return Results.Json(new { group, topic, partition, action }, Json);
    }

    /// <summary>
    /// Runs <paramref name="call"/> on the partition's grain if the cluster knows the partition: 404
    /// otherwise, 400 for a negative number, and the grain's refusal (not holding, a seek outside the
    /// watermarks, a silo not of the group, ...) as a 409 naming why.
    /// </summary>
    private static async Task<IResult> OnKnownAsync(IGrainFactory grains, string group, string topic, int partition, Func<IPartitionGrain, Task<IResult>> call)
    {
        if (partition < 0)
        {
            return BadRequest($"Partition {partition} is not a partition number; expected 0 or more.");
        }

        if (await grains.FindPartitionGrainAsync(group, topic, partition) is not { } grain)
        {
            return Results.Problem(
                $"No partition {group}/{topic}/{partition} is known to this cluster: expected a consumer group a silo processes and a partition its lease grain assigns, as the partition list shows them.",
                statusCode: StatusCodes.Status404NotFound);
        }

        try
        {
            return await call(grain);
        }
        catch (InvalidOperationException e)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static HoldDecision? DecisionOf(string action) => action switch
    {
        "retry" => HoldDecision.Retry,
        "skip" => HoldDecision.Skip,
        "dead-letter" => HoldDecision.DeadLetter,
        _ => null,
    };

    private static IResult BadRequest(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest);
}
