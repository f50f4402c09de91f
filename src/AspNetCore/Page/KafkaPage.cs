using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace OrleansKafka.AspNetCore.Page;

/// <summary>
/// The Kafka page: every partition grain of every group, live, from the JSON API beside it. Plain
/// HTML and script embedded in the assembly, no build step. Each response carries the API's path,
/// the dashboard link and an anti-forgery token for the page's actions, and a content security
/// policy that runs the page's own script and style only (by their hashes) and lets no site frame it.
/// </summary>
internal static partial class KafkaPage
{
    private const string Placeholder = "<!--orleans-kafka-->";

    private static readonly Lazy<(string Html, string Policy)> Template = new(() =>
    {
        using var stream = typeof(KafkaPage).Assembly.GetManifestResourceStream("OrleansKafka.AspNetCore.kafka.html")
            ?? throw new InvalidOperationException("The Kafka page is missing from OrleansKafka.AspNetCore's resources (Page/kafka.html).");
        using var reader = new StreamReader(stream);
        // Line ends as the browser's parser has them (CRLF becomes LF), so the hashes match a CRLF checkout too.
        var html = reader.ReadToEnd().ReplaceLineEndings("\n");
        var policy = $"default-src 'none'; script-src {Hash(ScriptBlock(), html)}; style-src {Hash(StyleBlock(), html)}; connect-src 'self'; "
            + "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return (html, policy);
    });

    /// <summary>
    /// The page for this request, with the headers that keep it to its own origin. With
    /// <paramref name="anonymousActions"/> (the actions' policy is the built-in one, which
    /// authenticates with its own scheme alone) the anti-forgery token is minted for no user, as the
    /// action will be checked, not for a user the host's own cookie signed in (a token the action
    /// could never match).
    /// </summary>
    public static IResult Serve(HttpContext context, IAntiforgery antiforgery, string apiPath, string? dashboardPath, bool anonymousActions)
    {
        var user = context.User;
        if (anonymousActions)
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity());
        }

        AntiforgeryTokenSet tokens;
        try
        {
            tokens = antiforgery.GetAndStoreTokens(context);
        }
        finally
        {
            context.User = user;
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = Template.Value.Policy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        var basePath = context.Request.PathBase.Value ?? string.Empty;
        var meta = new StringBuilder()
            .Append(Meta("orleans-kafka-api", basePath + apiPath))
            .Append(Meta("orleans-kafka-antiforgery-header", tokens.HeaderName ?? string.Empty))
            .Append(Meta("orleans-kafka-antiforgery-token", tokens.RequestToken ?? string.Empty))
            .Append(Meta("orleans-kafka-dashboard", dashboardPath is null ? string.Empty : basePath + dashboardPath));
        return Results.Content(Template.Value.Html.Replace(Placeholder, meta.ToString(), StringComparison.Ordinal), "text/html; charset=utf-8");
    }

    private static string Meta(string name, string content) => $"<meta name=\"{name}\" content=\"{WebUtility.HtmlEncode(content)}\">";

    /// <summary>The CSP source of the one block <paramref name="block"/> finds: its hash, so nothing injected runs.</summary>
    private static string Hash(Regex block, string html)
    {
        var matches = block.Matches(html);
        if (matches.Count != 1)
        {
            throw new InvalidOperationException($"The Kafka page has {matches.Count} blocks matching {block}; its security policy allows exactly one.");
        }

        return $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(matches[0].Groups[1].Value)))}'";
    }

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptBlock();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleBlock();
}
