using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace OrleansKafka.AspNetCore.Access;

/// <summary>
/// An action a browser sends without an <c>Authorization</c> header (one the loopback rule or a
/// cookie of the host lets in) must carry the anti-forgery token the page was served with, so
/// only the page itself can send it. A request with a bearer credential is not one a browser adds
/// on its own, and one with no <c>Origin</c>, <c>Sec-Fetch-Site</c> or cookie is not a browser's
/// (curl, a script): those pass to their policy alone.
/// </summary>
internal sealed class PageAntiforgery(IAntiforgery antiforgery) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Request.Headers;
        var fromBrowser = headers.Origin.Count > 0 || headers.ContainsKey("Sec-Fetch-Site") || headers.Cookie.Count > 0;
        if (fromBrowser && headers.Authorization.Count == 0 && !await antiforgery.IsRequestValidAsync(http))
        {
            return Results.Problem(
                "Refused: an action without an 'Authorization' header must come from the Kafka page (its anti-forgery token is missing or does not match). Use the page or the CLI, or send the operator token as 'Authorization: Bearer <token>'.",
                statusCode: StatusCodes.Status403Forbidden);
        }

        return await next(context);
    }
}
