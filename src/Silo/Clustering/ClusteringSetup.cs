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
        // Failure detection. Leases, not membership, decide when a partition may move (a silo
        // declared dead keeps its leases until they run out), but membership decides when the
        // grains of a dead silo (the lease grain among them) are re-created elsewhere.
        // - A silo that misses two 1 s probes is suspected: 0.7-2.9 s from SIGKILL to declared dead
        //   with 3 processes, instead of 10-13 s with Orleans' defaults. The price: a stall of more
        //   than about 2 s evicts a silo (which then stops itself), and its leases, 2 s long, are
        //   gone by then anyway.
        // - A silo whose "I am alive" row is 6 s old (3 missed 2 s writes) no longer counts as a
        //   voter, and the table is re-read every 5 s: a survivor of a cluster that lost its
        //   majority at once needs only its own vote once the dead rows are stale, so it evicts
        //   them in about 10-15 s rather than Orleans' 60-150 s. The price: one row write per silo
        //   every 2 s and one table read every 5 s, and a membership store that stalls for 6 s
        //   lets one silo's vote evict a healthy peer.
        // Silo:Membership overrides any of these.
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.MaxProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedTableIAmAliveLimit = 3;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
        });
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Silo:Membership"));

        // The strongly consistent grain directory (Orleans 9+), not the default eventually
        // consistent one. With the default, a silo that dies deactivates every grain whose
        // directory entry it held, wherever that grain runs: a lease grain on a healthy silo went
        // away for about a second, the heartbeats of every silo timed out meanwhile and every
        // partition of every group stopped until its lease ran out (docs/benchmarks.md, failover).
        // This directory rebuilds a dead owner's ranges from the silos still running instead.
        // Its range lease (by default 30 s from the owner's last sign of life) keeps a dead
        // owner's grains from being activated again until a silo declared dead has surely stopped
        // itself; here it is 1 s, used up by failure detection, so a dead silo's grains come back
        // at once, as with the default directory. What that lease would guard is guarded here by
        // the product's own fences: a partition by its lease epoch, the lease grain by its fence
        // record, a key grain's state by its storage ETag, a call queued at a silo that froze by the
        // key grains' stall watch (docs/architecture.md).
#pragma warning disable ORLEANSEXP003 // Marked for evaluation; the failover figures are measured with it.
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Configure<GrainDirectoryOptions>(o => o.RangeLeaseDuration = TimeSpan.FromSeconds(1));

        // The same ids for every store ("dev" by default), so the CLI connects to any silo host
        // without options. Set after the clustering call, so it wins over what that call sets.
        void Ids() => silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ServiceId;
        });

        if (settings.Tls is { } tls)
        {
            // Silo-to-silo and client-to-gateway connections both, whatever the clustering: only peers with the cluster's certificate.
            silo.UseTls(tls.Configure);
        }

        if (settings.Store == MembershipStore.Localhost)
        {
            silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, serviceId: settings.ServiceId, clusterId: settings.ClusterId);
            Ids();
            return;
        }

        if (settings.Store == MembershipStore.Redis)
        {
            silo.UseRedisClustering(o => o.ConfigurationOptions = settings.RedisOptions());
            // The partition grains' pause and ownership history, in the same Redis: they outlive
            // silo restarts. (Postgres keeps them in its database; localhost clustering in memory.)
            silo.AddRedisGrainStorage(OrleansKafka.Configuration.KafkaProcessingOptions.StorageName, o => o.ConfigurationOptions = settings.RedisOptions());
        }
        else
        {
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = settings.PostgresConnection(StoreUse.Membership);
            });
            // The same for the partition grains' state, in the same database (deploy/postgres/storage.sql).
            silo.AddAdoNetGrainStorage(OrleansKafka.Configuration.KafkaProcessingOptions.StorageName, o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = settings.PostgresConnection(StoreUse.Storage);
            });
        }

        Ids();
        silo.ConfigureEndpoints(settings.AdvertisedAddress, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: false);

        if (settings.Kubernetes)
        {
            // Last, so that it wins: the pod's name and IP (POD_NAME, POD_IP), listening on the
            // pod's addresses, the ids from ORLEANS_SERVICE_ID and ORLEANS_CLUSTER_ID, and a watcher
            // that declares a silo dead as soon as its pod is deleted (deploy/kubernetes).
            silo.UseKubernetesHosting();
        }
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
                    await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(settings.PostgresConnection(StoreUse.Membership)) { Timeout = (int)SiloClusteringSettings.ConnectTimeout.TotalSeconds, Pooling = false }.ConnectionString))
                    {
                        await connection.OpenAsync(cancellationToken);
                        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansMembershipVersionTable", connection);
                        await command.ExecuteScalarAsync(cancellationToken);

                        // The partition grains' state is kept there too: without the storage
                        // queries Orleans would fail later with a less telling message.
                        await using var storage = new NpgsqlCommand("SELECT count(*) FROM OrleansQuery WHERE QueryKey IN ('ReadFromStorageKey', 'WriteToStorageKey', 'ClearStorageKey')", connection);
                        if (Convert.ToInt64(await storage.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) < 3)
                        {
                            throw new ClusteringConfigurationException(
                                $"{settings.ConnectionKey} = '{settings.RedactedConnection}': the database has the membership tables but not the grain storage of deploy/postgres/storage.sql; apply it (psql -f deploy/postgres/storage.sql).");
                        }
                    }

                    break;
            }
        }
        catch (Exception e) when (e is RedisException or NpgsqlException or PostgresException or TimeoutException)
        {
            throw new ClusteringConfigurationException(
                $"{settings.ConnectionKey} = '{settings.RedactedConnection}': the {settings.Store} membership store did not answer " +
                $"within {SiloClusteringSettings.ConnectTimeout.TotalSeconds:0} s ({e.Message}). Start it, or point {settings.ConnectionKey} at it" +
                (settings.Store == MembershipStore.Postgres ? "; its database needs the tables of deploy/postgres/membership.sql and storage.sql." : "."),
                e);
        }
    }
}
