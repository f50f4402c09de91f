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

    private static AuthorizationPolicy Policy(bool action) => new AuthorizationPolicyBuilder(OperatorTokenHandler.SchemeName)
        .AddRequirements(new OperatorAccessRequirement(action))
        .Build();
}
