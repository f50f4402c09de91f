using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansKafka.Silo;

/// <summary>Chooses how silos find each other: <c>Silo:Clustering</c> = Localhost (one silo) or Redis (several processes).</summary>
internal static class ClusteringSetup
{
    public static void Configure(ISiloBuilder silo, IConfiguration configuration, int siloPort, int gatewayPort)
    {
        var clustering = configuration.GetValue("Silo:Clustering", "Localhost")!;
        switch (clustering.ToLowerInvariant())
        {
            case "localhost":
                silo.UseLocalhostClustering(siloPort, gatewayPort);
                break;
            case "redis":
                var connection = configuration.GetValue("Silo:Redis", "127.0.0.1:6379")!;
                var redis = ConfigurationOptions.Parse(connection);
                redis.ConnectTimeout = 5000;
                silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = configuration.GetValue("Silo:ClusterId", "dev");
                    o.ServiceId = configuration.GetValue("Silo:ServiceId", "dev");
                    // "dev" as with localhost clustering, so the CLI connects to either without options.
                });
                // Loopback unless told otherwise: nothing listens beyond this machine by default.
                var address = IPAddress.Parse(configuration.GetValue("Silo:AdvertisedAddress", "127.0.0.1")!);
                silo.ConfigureEndpoints(address, siloPort, gatewayPort, listenOnAnyHostAddress: false);
                break;
            default:
                throw new InvalidOperationException($"Silo:Clustering is '{clustering}'; expected Localhost or Redis.");
        }
    }
}
