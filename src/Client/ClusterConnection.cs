using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansKafka.Tls;

namespace OrleansKafka.Cli;

/// <summary>Connects an Orleans client to a silo gateway.</summary>
internal static class ClusterConnection
{
    /// <summary>Connects to the silo gateway <paramref name="options"/> names, over TLS when they give a certificate; fails within their connect timeout (10 s by default).</summary>
    public static async Task<IHost> ConnectAsync(ConnectionOptions options, CancellationToken cancellationToken)
    {
        var (gateway, clusterId, serviceId) = (options.Gateway, options.ClusterId, options.ServiceId);
        if (options.ConnectTimeoutSeconds is < 1 or > 600)
        {
            throw new ArgumentException($"--connect-timeout is {options.ConnectTimeoutSeconds}; expected seconds from 1 to 600.");
        }

        if (!IPEndPoint.TryParse(gateway, out var endpoint) || endpoint.Port == 0)
        {
            throw new ArgumentException($"--gateway '{gateway}' is not an address of the form host:port such as 127.0.0.1:30000.");
        }

        if (string.IsNullOrEmpty(options.TlsCertificate) && !string.IsNullOrEmpty(options.TlsTrusted))
        {
            throw new ArgumentException("--tls-trusted is given without --tls-certificate; expected the certificate the CLI presents too (mutual TLS), or neither.");
        }

        var tls = string.IsNullOrEmpty(options.TlsCertificate)
            ? null
            : PeerCertificates.Load(options.TlsCertificate, Environment.GetEnvironmentVariable(ConnectionOptions.TlsPasswordVariable), options.TlsTrusted, "--tls-certificate", "--tls-trusted");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(endpoint)
                .Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    // "dev" by default: the silo host's ids, whichever clustering it uses.
                    o.ClusterId = clusterId;
                    o.ServiceId = serviceId;
                });
            if (tls is not null)
            {
                client.UseTls(tls.Configure);
            }
        });
        var host = builder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.ConnectTimeoutSeconds));
        try
        {
            await host.StartAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            throw new InvalidOperationException($"Could not connect to a silo gateway at {gateway} (cluster id '{clusterId}', service id '{serviceId}') within {options.ConnectTimeoutSeconds} s: {ex.Message}. Check --gateway, --cluster-id/--service-id against the silo's Silo:ClusterId and Silo:ServiceId, and --tls-certificate when the silo sets Silo:Tls:Certificate.", ex);
        }

        return host;
    }

    /// <summary>
    /// Closes the connection the way the gateway expects (a stopped client says goodbye), so the
    /// silo logs no "connection reset" for every command; then frees the host.
    /// </summary>
    public static async Task CloseAsync(IHost? host)
    {
        if (host is null)
        {
            return;
        }

        try
        {
            await host.StopAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            host.Dispose();
        }
    }

    public static IClusterClient Client(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
