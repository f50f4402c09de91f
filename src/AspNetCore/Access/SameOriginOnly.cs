using Microsoft.AspNetCore.Http;

namespace OrleansKafka.AspNetCore.Access;

/// <summary>
/// Refuses requests a browser sends on behalf of another site's page to the Kafka page's JSON
/// API and actions: a page on any other origin (another local port included) could otherwise
/// pause or seek partitions through the operator's browser, or run up grain activations, since
/// such a request needs no CORS permission to be sent. The page itself, and clients that are not
/// browsers (curl, scripts), send no <c>Sec-Fetch-Site</c> or <c>Origin</c> naming another origin.
/// </summary>
internal sealed class SameOriginOnly : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Refusal(context.HttpContext.Request) is { } refusal ? ValueTask.FromResult<object?>(refusal) : next(context);

    /// <summary>Null for a request from the page's own origin or from a client that is not a browser; otherwise the 403 that says why.</summary>
    public static IResult? Refusal(HttpRequest request)
    {
        // Sent by current browsers on every request: "same-site" is another port of the same host.
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0)
        {
            // The browser's own verdict; Origin is not compared then, as a proxy that rewrites Host
            // would make every request of the page itself look foreign.
            return site is "same-origin" or "none" ? null : Refuse($"it came from a page of another origin (Sec-Fetch-Site: {site})");
        }

        // Older browsers: the Origin header of a script's or form's request.
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)))
        {
            return Refuse($"it came from a page of another origin ({origin})");
        }

        return null;
    }

    private static IResult Refuse(string why) => Results.Problem(
        $"Refused: {why}. The Kafka page's API answers the page itself and clients that are not browsers (curl, scripts), so that another site open in the operator's browser cannot act on partitions.",
        statusCode: StatusCodes.Status403Forbidden);
}
