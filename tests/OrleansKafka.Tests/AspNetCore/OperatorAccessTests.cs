using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.AspNetCore;
using OrleansKafka.AspNetCore.Access;

namespace OrleansKafka.Tests.AspNetCore;

/// <summary>
/// The built-in policies decided per request from the connection's two ends, through ASP.NET
/// Core's own authorization service with the services AddOrleansKafkaEndpoints registers. The
/// process tests reach the silo over loopback only; these give the connection other addresses.
/// </summary>
public sealed class OperatorAccessTests
{
    private const string Token = "an-operator-token-of-32-characters-or-more";

    [Theory]
    [InlineData(null, "127.0.0.1", "127.0.0.1", false, true)]
    [InlineData(null, "::1", "::1", false, true)]
    [InlineData(null, "10.1.2.3", "10.1.2.4", false, false)]
    [InlineData(null, "127.0.0.1", "10.1.2.4", false, false)]
    [InlineData(null, "127.0.0.1", "127.0.0.1", true, true)]
    [InlineData(null, "10.1.2.3", "10.1.2.4", true, false)]
    [InlineData(Token, "127.0.0.1", "127.0.0.1", false, true)]
    [InlineData(Token, "127.0.0.1", "127.0.0.1", true, false)]
    [InlineData(Token, "10.1.2.3", "10.1.2.4", false, false)]
    public async Task WithoutTheToken_ALoopbackConnectionReads_AndActsOnlyWhileNoTokenIsSet(string? token, string remote, string local, bool action, bool allowed)
    {
        var result = await AuthorizeAsync(token, remote, local, action, authenticated: false);

        Assert.Equal(allowed, result.Succeeded);
    }

    [Theory]
    [InlineData("attacker.example", false)]
    [InlineData("attacker.example", true)]
    [InlineData("localhost", true)]
    [InlineData("[::1]", true)]
    public async Task ALoopbackConnectionAskingForAnotherHostName_IsNotLoopback_SinceADnsRebindingLooksJustSo(string host, bool action)
    {
        using var services = Services(token: null);
        var request = Request("127.0.0.1", "127.0.0.1");
        request.Request.Host = new HostString(host, 8080);
        var policy = action ? OrleansKafkaEndpointOptions.ActionsPolicyName : OrleansKafkaEndpointOptions.ReadsPolicyName;

        var result = await services.GetRequiredService<IAuthorizationService>().AuthorizeAsync(new ClaimsPrincipal(new ClaimsIdentity()), request, policy);

        Assert.Equal(host != "attacker.example", result.Succeeded);
    }

    [Fact]
    public async Task AHostsOnlySchemeStaysItsDefault()
    {
        var withCookies = new ServiceCollection().AddLogging();
        withCookies.AddAuthentication().AddCookie("Cookies");
        withCookies.AddOrleansKafkaEndpoints();
        using var cookies = withCookies.BuildServiceProvider();

        Assert.Equal("Cookies", (await cookies.GetRequiredService<IAuthenticationSchemeProvider>().GetDefaultAuthenticateSchemeAsync())?.Name);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheToken_LetsAnyConnectionReadAndAct(bool action)
    {
        var result = await AuthorizeAsync(Token, "10.1.2.3", "10.1.2.4", action, authenticated: true);

        Assert.True(result.Succeeded);
    }

    [Fact]
    public async Task AnotherSchemesIdentity_IsNotTheOperator()
    {
        using var services = Services(Token);
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "someone")], "Cookies"));

        var result = await services.GetRequiredService<IAuthorizationService>().AuthorizeAsync(user, Request("10.1.2.3", "10.1.2.4"), OrleansKafkaEndpointOptions.ActionsPolicyName);

        Assert.False(result.Succeeded);
    }

    private static async Task<AuthorizationResult> AuthorizeAsync(string? token, string remote, string local, bool action, bool authenticated)
    {
        using var services = Services(token);
        var user = authenticated
            ? new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator")], OperatorTokenHandler.SchemeName))
            : new ClaimsPrincipal(new ClaimsIdentity());
        var policy = action ? OrleansKafkaEndpointOptions.ActionsPolicyName : OrleansKafkaEndpointOptions.ReadsPolicyName;
        return await services.GetRequiredService<IAuthorizationService>().AuthorizeAsync(user, Request(remote, local), policy);
    }

    private static ServiceProvider Services(string? token)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOrleansKafkaEndpoints(o => o.Token = token);
        return services.BuildServiceProvider();
    }

    private static DefaultHttpContext Request(string remote, string local)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        context.Connection.LocalIpAddress = IPAddress.Parse(local);
        context.Request.Host = new HostString(IPAddress.Parse(local).ToString().Contains(':', StringComparison.Ordinal) ? $"[{local}]" : local, 8080);
        return context;
    }
}
