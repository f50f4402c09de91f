using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansKafka.AspNetCore.Access;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;token&gt;</c> against the operator token (a
/// constant-time comparison), and answers a refused request with a problem that says what is
/// needed: 401 when a token is set, 403 when none is and the connection is not loopback.
/// </summary>
internal sealed class OperatorTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<OrleansKafkaEndpointOptions> endpoints)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "OrleansKafka.Token";
    private const string Bearer = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = endpoints.Value.Token;
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(token) || !header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Bearer.Length..]), Encoding.UTF8.GetBytes(token)))
        {
            return Task.FromResult(AuthenticateResult.Fail("The bearer token is not the operator token."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var setting = endpoints.Value.TokenSetting;
        return string.IsNullOrEmpty(endpoints.Value.Token)
            ? Results.Problem(
                $"Refused: this request came from {Context.Connection.RemoteIpAddress} over a connection that is not loopback, and {setting} is not set. Set {setting} (for example from the environment) and send it as 'Authorization: Bearer <token>'.",
                statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context)
            : Results.Problem(
                $"This needs the operator token configured in {setting}: send it as 'Authorization: Bearer <token>'.",
                statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Results.Problem("Refused: the operator token does not allow this request.", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context);
}
