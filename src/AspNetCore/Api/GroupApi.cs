using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansKafka.Leasing;
using OrleansKafka.Partitions;

namespace OrleansKafka.AspNetCore.Api;

/// <summary>
/// <c>GET {prefix}/groups</c>: every consumer group's load as its lease grain measures it: what it
/// balances by, its cost per silo and the silos it needs (<c>silosDesired</c>).
/// <c>GET {prefix}/groups/{group}/timeline</c>: each partition's owners over the last
/// <see cref="TimelineWindow"/> (the ownership history's entries since then, and the one before,
/// which owned it when the window began). Read-only.
/// </summary>
internal static class GroupApi
{
    /// <summary>How far back the timeline goes.</summary>
    public static readonly TimeSpan TimelineWindow = TimeSpan.FromMinutes(30);

    public static void Map(RouteGroupBuilder api, string readPolicy)
    {
        api.MapGet(string.Empty, async (IGrainFactory grains) => Results.Json(await grains.GetGroupLoadsAsync(), PartitionApi.Json)).RequireAuthorization(readPolicy);
        api.MapGet("{group}/timeline", TimelineAsync).RequireAuthorization(readPolicy);
    }

    private static async Task<IResult> TimelineAsync(string group, IGrainFactory grains, TimeProvider? time)
    {
        if (!(await grains.GetGrain<IConsumerGroupCatalogGrain>(0).GetGroupsAsync()).Contains(group, StringComparer.Ordinal))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"Consumer group '{group}' is not known to the cluster (no silo has registered it).");
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var assignments = await grains.GetGrain<IPartitionLeaseGrain>(group).GetAssignmentsAsync();
        var partitions = await Task.WhenAll(assignments.Select(async a => new
        {
            a.Topic,
            a.Partition,
            Owners = Window(await grains.GetPartitionGrain(group, a.Topic, a.Partition).GetHistoryAsync(), now - TimelineWindow),
        }));
        return Results.Json(new { Group = group, Now = now, Partitions = partitions }, PartitionApi.Json);
    }

    /// <summary>The owners since <paramref name="from"/>, and the one that owned the partition then.</summary>
    private static List<OwnershipRecord> Window(IReadOnlyList<OwnershipRecord> history, DateTimeOffset from)
    {
        var first = history.Count(o => o.Since < from);
        return [.. history.Skip(Math.Max(0, first - 1))];
    }
}
