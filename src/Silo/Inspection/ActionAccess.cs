using System.Net;
using Microsoft.AspNetCore.Http;

namespace OrleansKafka.Silo.Inspection;

/// <summary>
/// Who may run operator actions through the web host. With <c>Dashboard:Token</c> set, every
/// action needs <c>Authorization: Bearer &lt;token&gt;</c>. Without one, actions are open only
/// while the web host listens on loopback alone (<c>Dashboard:Urls</c>), and refused otherwise.
/// </summary>
internal sealed class ActionAccess(string? token, IReadOnlyList<string> urls)
{
    public const string TokenSetting = "Dashboard:Token";

    private readonly bool _loopbackOnly = urls.All(IsLoopback);

    /// <summary>Whether the web host listens on loopback addresses alone.</summary>
    public bool LoopbackOnly => _loopbackOnly;

    /// <summary>Null when the request may act; otherwise the response that refuses it, saying why.</summary>
    public IResult? Refusal(HttpRequest request)
    {
        if (!string.IsNullOrEmpty(token))
        {
            var given = System.Text.Encoding.UTF8.GetBytes(request.Headers.Authorization.ToString());
            var expected = System.Text.Encoding.UTF8.GetBytes($"Bearer {token}");
            return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(given, expected)
                ? null
                : Results.Problem($"This action needs the credential configured in {TokenSetting}: send it as 'Authorization: Bearer <token>'.", statusCode: StatusCodes.Status401Unauthorized);
        }

        return _loopbackOnly
            ? null
            : Results.Problem($"The web host listens beyond loopback and {TokenSetting} is not set: actions are refused. Set {TokenSetting} (for example from the environment, Dashboard__Token) and send it as a bearer token.", statusCode: StatusCodes.Status403Forbidden);
    }

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}
