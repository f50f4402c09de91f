using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansKafka.AspNetCore.Access;
using OrleansKafka.AspNetCore.Api;
using OrleansKafka.AspNetCore.Health;
using OrleansKafka.AspNetCore.Page;

namespace OrleansKafka.AspNetCore;

/// <summary>Maps the OrleansKafka operator surface in an ASP.NET Core host (after <see cref="OrleansKafkaServiceCollectionExtensions.AddOrleansKafkaEndpoints(Microsoft.Extensions.DependencyInjection.IServiceCollection, System.Action{OrleansKafkaEndpointOptions})"/>).</summary>
public static class OrleansKafkaEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the Kafka page at <paramref name="prefix"/> and its JSON API under
    /// <c>{prefix}/partitions</c>: every partition's status, a partition's ownership history, and
    /// the actions <c>POST {prefix}/partitions/{group}/{topic}/{partition}/{pause|resume|retry|skip|dead-letter}</c>,
    /// <c>.../seek?offset={n|beginning|end}</c> and <c>.../move?silo={host:port}</c>. Reads and
    /// actions require the policies <see cref="OrleansKafkaEndpointOptions"/> names; a browser's
    /// request made by another origin's page is refused (403).
    /// </summary>
    /// <returns>The group of every endpoint mapped, for further conventions (a host name, rate limiting).</returns>
    public static RouteGroupBuilder MapOrleansKafka(this IEndpointRouteBuilder endpoints, string prefix = "/kafka")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<OrleansKafkaEndpointOptions>>().Value;
        var group = endpoints.MapGroup(prefix.TrimEnd('/'));
        group.AddEndpointFilter((context, next) =>
        {
            context.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        group.MapGet(string.Empty, (HttpContext context, IAntiforgery antiforgery) =>
            KafkaPage.Serve(context, antiforgery, $"{prefix.TrimEnd('/')}/partitions", options.DashboardPath, anonymousActions: options.ActionPolicy is null));
        var api = group.MapGroup("/partitions").AddEndpointFilter<SameOriginOnly>();
        PartitionApi.Map(api, options.ReadPolicy ?? OrleansKafkaEndpointOptions.ReadsPolicyName, options.ActionPolicy ?? OrleansKafkaEndpointOptions.ActionsPolicyName);
        GroupApi.Map(group.MapGroup("/groups").AddEndpointFilter<SameOriginOnly>(), options.ReadPolicy ?? OrleansKafkaEndpointOptions.ReadsPolicyName);
        var deadLetters = group.MapGroup("/dead-letters").AddEndpointFilter<SameOriginOnly>();
        DeadLetterApi.Map(deadLetters, options.ReadPolicy ?? OrleansKafkaEndpointOptions.ReadsPolicyName, options.ActionPolicy ?? OrleansKafkaEndpointOptions.ActionsPolicyName);
        return group;
    }

    /// <summary>
    /// Maps <c>{prefix}/live</c> (the process answers) and <c>{prefix}/ready</c> (the silo is Active
    /// in its cluster, Kafka answers and every lease grain answers this silo's heartbeats; 503 and
    /// the reason otherwise), JSON, open to probes.
    /// </summary>
    public static IEndpointRouteBuilder MapOrleansKafkaHealthChecks(this IEndpointRouteBuilder endpoints, string prefix = HealthEndpoints.DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        HealthEndpoints.Map(endpoints, prefix.TrimEnd('/'));
        return endpoints;
    }
}
