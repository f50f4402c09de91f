using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansKafka.AspNetCore.Access;
using OrleansKafka.AspNetCore.Health;
using OrleansKafka.Health;

namespace OrleansKafka.AspNetCore;

/// <summary>Registers what the OrleansKafka endpoints need in an ASP.NET Core host that runs a silo with <c>AddKafkaProcessing</c>.</summary>
public static class OrleansKafkaServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services of <see cref="OrleansKafkaEndpointRouteBuilderExtensions.MapOrleansKafka"/>
    /// and <see cref="OrleansKafkaEndpointRouteBuilderExtensions.MapOrleansKafkaHealthChecks"/>
    /// with the default options: no token, so reads and actions answer loopback connections alone.
    /// </summary>
    public static IServiceCollection AddOrleansKafkaEndpoints(this IServiceCollection services) => services.AddOrleansKafkaEndpoints(_ => { });

    /// <summary>
    /// Adds the services of <see cref="OrleansKafkaEndpointRouteBuilderExtensions.MapOrleansKafka"/>
    /// and <see cref="OrleansKafkaEndpointRouteBuilderExtensions.MapOrleansKafkaHealthChecks"/>:
    /// the built-in authorization policies and their token scheme, anti-forgery for the page's
    /// actions, and the readiness check. A token shorter than
    /// <see cref="OrleansKafkaEndpointOptions.MinimumTokenLength"/> fails the host's start.
    /// </summary>
    public static IServiceCollection AddOrleansKafkaEndpoints(this IServiceCollection services, Action<OrleansKafkaEndpointOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<OrleansKafkaEndpointOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OrleansKafkaEndpointOptions>, TokenLength>());
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, OperatorTokenHandler>(OperatorTokenHandler.SchemeName, null);
        services.AddOptions<AuthenticationOptions>().PostConfigure(KeepTheHostsDefaultScheme);
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure(authorization =>
        {
            authorization.AddPolicy(OrleansKafkaEndpointOptions.ReadsPolicyName, Policy(action: false));
            authorization.AddPolicy(OrleansKafkaEndpointOptions.ActionsPolicyName, Policy(action: true));
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, OperatorAccessHandler>());
        services.AddAntiforgery();
        services.AddHealthChecks().AddKafkaProcessing(tags: [HealthEndpoints.ReadyTag]);
        return services;
    }

    /// <summary>
    /// <see cref="AddOrleansKafkaEndpoints(IServiceCollection, Action{OrleansKafkaEndpointOptions})"/>
    /// with the options bound from <paramref name="configuration"/> (<c>Token</c>,
    /// <c>ActionPolicy</c>, <c>ReadPolicy</c>, <c>DashboardPath</c>); errors name its keys.
    /// </summary>
    public static IServiceCollection AddOrleansKafkaEndpoints(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var prefix = configuration is IConfigurationSection section ? $"{section.Path}:" : string.Empty;
        return services.AddOrleansKafkaEndpoints(o =>
        {
            configuration.Bind(o);
            o.TokenSetting = $"{prefix}{nameof(OrleansKafkaEndpointOptions.Token)}";
        });
    }

    /// <summary>
    /// ASP.NET Core makes a host's only scheme its default when none is named: adding the token
    /// scheme would take that default away from a host with one scheme of its own, whose
    /// <c>[Authorize]</c> endpoints would then fail. That scheme is named the default instead. (A
    /// host with no scheme of its own gets the token scheme as its default, which authenticates
    /// only the operator token; the built-in policies name it themselves either way.)
    /// </summary>
    private static void KeepTheHostsDefaultScheme(AuthenticationOptions authentication)
    {
        if (authentication.DefaultScheme is not null || authentication.DefaultAuthenticateScheme is not null)
        {
            return;
        }

        var others = authentication.Schemes.Select(s => s.Name).Where(n => n != OperatorTokenHandler.SchemeName).ToList();
        if (others.Count == 1)
        {
            authentication.DefaultScheme = others[0];
        }
    }

    private static AuthorizationPolicy Policy(bool action) => new AuthorizationPolicyBuilder(OperatorTokenHandler.SchemeName)
        .AddRequirements(new OperatorAccessRequirement(action))
        .Build();
}
