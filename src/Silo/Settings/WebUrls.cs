using System.Net;
using Microsoft.Extensions.Configuration;

namespace OrleansKafka.Silo.Settings;

/// <summary>The web host's listening URLs (<c>Dashboard:Urls</c>), checked: http or https URLs with a port, separated by ';'.</summary>
internal sealed class WebUrls
{
    public const string Setting = "Dashboard:Urls";

    private WebUrls(string value, IReadOnlyList<Uri> urls)
    {
        Value = value;
        LoopbackOnly = urls.All(u => u.IsLoopback || (IPAddress.TryParse(u.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address)));
    }

    /// <summary>The setting as given, for <c>UseUrls</c>.</summary>
    public string Value { get; }

    /// <summary>Every URL is a loopback address: the host answers this machine alone.</summary>
    public bool LoopbackOnly { get; }

    /// <exception cref="ArgumentException">The setting names no URL, or one that is not http(s)://address:port.</exception>
    public static WebUrls Read(IConfiguration configuration)
    {
        var value = configuration.GetValue(Setting, "http://127.0.0.1:8080")!;
        var urls = new List<Uri>();
        foreach (var url in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // "*" and "+" (any address) are Kestrel's, not URI hosts.
            var normal = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(normal, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port is < 1 or > 65535)
            {
                urls.Clear();
                break;
            }

            urls.Add(uri);
        }

        return urls.Count > 0
            ? new WebUrls(value, urls)
            : throw new ArgumentException($"{Setting} is '{value}'; expected http://address:port URLs separated by ';', such as http://127.0.0.1:8080.");
    }
}
