using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.AspNetCore;
using OrleansKafka.AspNetCore.Access;
using OrleansKafka.AspNetCore.Page;

namespace OrleansKafka.Tests.AspNetCore;

/// <summary>The page's anti-forgery token and the cross-origin check in hosts unlike the demo host's (one with its own sign-in, one behind a proxy).</summary>
public sealed partial class PageSecurityTests
{
    [Fact]
    public async Task InAHostWhoseCookieSignsUsersIn_ThePagesTokenMatchesTheActionAsTheBuiltInPolicyChecksIt()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddOrleansKafkaEndpoints();
        await using var provider = services.BuildServiceProvider();
        var antiforgery = provider.GetRequiredService<IAntiforgery>();
        var page = new DefaultHttpContext { RequestServices = provider, User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "alice")], "Cookies")) };
        page.Request.Host = new HostString("127.0.0.1", 8080);
        page.Response.Body = new MemoryStream();

        await KafkaPage.Serve(page, antiforgery, "/kafka/partitions", dashboardPath: null, anonymousActions: true).ExecuteAsync(page);

        page.Response.Body.Position = 0;
        var html = await new StreamReader(page.Response.Body).ReadToEndAsync();
        // The action, as the built-in policy leaves it: its own scheme found no user.
        var action = new DefaultHttpContext { RequestServices = provider, User = new ClaimsPrincipal(new ClaimsIdentity()) };
        action.Request.Method = "POST";
        action.Request.Host = page.Request.Host;
        action.Request.Headers.Cookie = page.Response.Headers.SetCookie.ToString().Split(';')[0];
        action.Request.Headers[Meta().Match(html) is { Success: true } header ? header.Groups[1].Value : "missing"] = Token().Match(html).Groups[1].Value;
        Assert.True(await antiforgery.IsRequestValidAsync(action));
    }

    [Fact]
    public void ABrowsersSameOriginVerdict_IsTaken_EvenBehindAProxyThatRewritesTheHost()
    {
        var request = new DefaultHttpContext().Request;
        request.Host = new HostString("silo-0.internal", 8080);
        request.Headers["Sec-Fetch-Site"] = "same-origin";
        request.Headers.Origin = "https://kafka.example.com";

        Assert.Null(SameOriginOnly.Refusal(request));

        request.Headers["Sec-Fetch-Site"] = "cross-site";
        Assert.NotNull(SameOriginOnly.Refusal(request));
    }

    [GeneratedRegex("<meta name=\"orleans-kafka-antiforgery-header\" content=\"([^\"]+)\">")]
    private static partial Regex Meta();

    [GeneratedRegex("<meta name=\"orleans-kafka-antiforgery-token\" content=\"([^\"]+)\">")]
    private static partial Regex Token();
}
