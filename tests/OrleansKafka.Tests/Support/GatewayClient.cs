using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Support;

/// <summary>An Orleans client connected to one silo process's gateway (the silo host's default ids).</summary>
public sealed class GatewayClient : IAsyncDisposable
{
    private readonly IHost _host;

    private GatewayClient(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static Task<GatewayClient> ConnectAsync(SiloProcess silo) => ConnectAsync(silo.GatewayPort);

    /// <summary>Connects to the gateway on loopback port <paramref name="gatewayPort"/>.</summary>
    public static async Task<GatewayClient> ConnectAsync(int gatewayPort)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort))
            .Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("dev", "dev")));
        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.StartAsync(timeout.Token);
        return new GatewayClient(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(5));
        _host.Dispose();
    }
}
