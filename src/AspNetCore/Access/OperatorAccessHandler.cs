using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace OrleansKafka.AspNetCore.Access;

/// <summary>
/// The built-in policies' one requirement: met by a request the operator token authenticated
/// (<see cref="OperatorTokenHandler"/>), or by a loopback connection when the policy allows one
/// (reads always; actions only while no token is set). Loopback is decided per request from the
/// connection's two ends and the host name asked for, not from the addresses the host listens on.
/// </summary>
internal sealed class OperatorAccessRequirement(bool action) : IAuthorizationRequirement
{
    public bool Action { get; } = action;
}

internal sealed class OperatorAccessHandler(IOptions<OrleansKafkaEndpointOptions> options) : AuthorizationHandler<OperatorAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OperatorAccessRequirement requirement)
    {
        var byToken = context.User.Identities.Any(i => i.IsAuthenticated && i.AuthenticationType == OperatorTokenHandler.SchemeName);
        var loopbackAllowed = !requirement.Action || string.IsNullOrEmpty(options.Value.Token);
        if (byToken || (loopbackAllowed && context.Resource is HttpContext http && IsLoopback(http)))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Both ends of the connection are loopback addresses, and the request names a loopback host.
    /// The host name matters because of DNS rebinding: another site's name pointed at 127.0.0.1
    /// gives its page a loopback connection and the page's own origin, and only the <c>Host</c>
    /// header (which the page cannot set) still tells it apart. A reverse proxy on the same machine
    /// makes every request it forwards loopback: behind one, set a token.
    /// </summary>
    public static bool IsLoopback(HttpContext http)
    {
        var connection = http.Connection;
        var host = http.Request.Host.Host;
        return connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)
            && connection.LocalIpAddress is { } local && IPAddress.IsLoopback(local)
            && (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                || (IPAddress.TryParse(host.Trim('[', ']'), out var named) && IPAddress.IsLoopback(named)));
    }
}
