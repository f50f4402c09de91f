using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansKafka.Partitions;

namespace OrleansKafka.AspNetCore.Api;

/// <summary>
/// <c>GET {prefix}/groups</c>: every consumer group's load as its lease grain measures it: what it
/// balances by, its cost per silo and the silos it needs (<c>silosDesired</c>). Read-only.
/// </summary>
internal static class GroupApi
{
    public static void Map(RouteGroupBuilder api, string readPolicy) =>
        api.MapGet(string.Empty, async (IGrainFactory grains) => Results.Json(await grains.GetGroupLoadsAsync(), PartitionApi.Json)).RequireAuthorization(readPolicy);
}
