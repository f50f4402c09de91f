using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansKafka.Silo.Clustering;

/// <summary>
/// How silos find each other: <c>Silo:Clustering</c> = Localhost (one silo), Redis or Postgres
/// (several processes sharing a membership store), and how fast a dead silo is detected.
/// </summary>
internal static class ClusteringSetup
{
    public static void Configure(ISiloBuilder silo, SiloClusteringSettings settings, IConfiguration configuration)
    {
        // Failure detection: a silo that misses two 1 s probes is suspected (0.7-2.9 s from SIGKILL
        // to declared dead, measured with 3 processes, instead of 10-13 s with Orleans' defaults).
        // The price: a GC or CPU stall of more than about 2 s evicts a silo. Silo:Membership overrides.
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.MaxProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
        });
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Silo:Membership"));

        if (settings.Store == MembershipStore.Localhost)
        {
            silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort);
            return;
        }

        if (settings.Store == MembershipStore.Redis)
        {
            silo.UseRedisClustering(o => o.ConfigurationOptions = settings.RedisOptions());
        }
        else
        {
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = settings.Connection;
            });
        }

        silo.Configure<ClusterOptions>(o =>
        {
            // "dev" by default, as with localhost clustering, so the CLI connects to either without options.
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ServiceId;
        });
        silo.ConfigureEndpoints(settings.AdvertisedAddress, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: false);
    }

    /// <summary>
    /// Fails start-up within seconds, naming the setting, when the membership store does not
    /// answer; Orleans itself would retry for minutes before giving up.
    /// </summary>
    public static async Task CheckStoreAsync(SiloClusteringSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            switch (settings.Store)
            {
                case MembershipStore.Redis:
                    await using (var redis = await ConnectionMultiplexer.ConnectAsync(settings.RedisOptions()))
                    {
                        await redis.GetDatabase().PingAsync();
                    }

                    break;
                case MembershipStore.Postgres:
                    await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(settings.Connection) { Timeout = (int)SiloClusteringSettings.ConnectTimeout.TotalSeconds }.ConnectionString))
                    {
                        await connection.OpenAsync(cancellationToken);
                        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansMembershipVersionTable", connection);
                        await command.ExecuteScalarAsync(cancellationToken);
                    }

                    break;
            }
        }
        catch (Exception e) when (e is RedisException or NpgsqlException or PostgresException or TimeoutException)
        {
            throw new ClusteringConfigurationException(
                $"{settings.ConnectionKey} = '{settings.RedactedConnection}': the {settings.Store} membership store did not answer " +
                $"within {SiloClusteringSettings.ConnectTimeout.TotalSeconds:0} s ({e.Message}). Start it, or point {settings.ConnectionKey} at it" +
                (settings.Store == MembershipStore.Postgres ? "; its database needs the tables of deploy/postgres/membership.sql." : "."),
                e);
        }
    }
}
