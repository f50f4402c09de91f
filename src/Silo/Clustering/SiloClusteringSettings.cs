using System.Net;
using Microsoft.Extensions.Configuration;
using Npgsql;
using OrleansKafka.Tls;
using StackExchange.Redis;

namespace OrleansKafka.Silo.Clustering;

/// <summary>The host's <c>Silo:*</c> settings, read and checked once at start.</summary>
internal sealed record SiloClusteringSettings(
    MembershipStore Store,
    string Connection,
    string ClusterId,
    string ServiceId,
    IPAddress AdvertisedAddress,
    int SiloPort,
    int GatewayPort,
    bool Kubernetes = false,
    int StoreConnections = SiloClusteringSettings.DefaultStoreConnections)
{
    /// <summary>The connections a silo opens to PostgreSQL at most, unless <c>Silo:StoreConnections</c> says otherwise.</summary>
    public const int DefaultStoreConnections = 20;

    /// <summary>How long a membership store may take to answer at start.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Mutual TLS for silo-to-silo and gateway connections (<c>Silo:Tls:*</c>); null for plain TCP.</summary>
    public PeerCertificates? Tls { get; init; }

    public string ConnectionKey => Store == MembershipStore.Postgres ? "Silo:Postgres" : "Silo:Redis";

    /// <summary>The connection without secrets, for messages.</summary>
    public string RedactedConnection => Store switch
    {
        MembershipStore.Redis => string.Join(",", RedisOptions().EndPoints.Select(e => e.ToString())),
        MembershipStore.Postgres => Redact(new NpgsqlConnectionStringBuilder(Connection)),
        _ => string.Empty,
    };

    public static SiloClusteringSettings Read(IConfiguration configuration)
    {
        var clustering = configuration.GetValue("Silo:Clustering", "Localhost")!;
        if (!Enum.TryParse<MembershipStore>(clustering, ignoreCase: true, out var store) || !Enum.IsDefined(store))
        {
            throw new ClusteringConfigurationException($"Silo:Clustering is '{clustering}'; expected Localhost, Redis or Postgres.");
        }

        var addressText = configuration.GetValue("Silo:AdvertisedAddress", "127.0.0.1")!;
        if (!IPAddress.TryParse(addressText, out var address))
        {
            throw new ClusteringConfigurationException($"Silo:AdvertisedAddress is '{addressText}'; expected an IP address such as 127.0.0.1.");
        }

        var settings = new SiloClusteringSettings(
            store,
            store switch
            {
                MembershipStore.Redis => configuration.GetValue("Silo:Redis", "127.0.0.1:6379")!,
                MembershipStore.Postgres => configuration.GetValue<string>("Silo:Postgres") ?? string.Empty,
                _ => string.Empty,
            },
            configuration.GetValue("Silo:ClusterId", "dev")!,
            configuration.GetValue("Silo:ServiceId", "dev")!,
            address,
            Port(configuration, "Silo:SiloPort", 11111),
            Port(configuration, "Silo:GatewayPort", 30000),
            Flag(configuration, "Silo:Kubernetes"),
            Count(configuration, "Silo:StoreConnections", DefaultStoreConnections, MembershipConnections + 1));
        if (settings.Kubernetes && store == MembershipStore.Localhost)
        {
            throw new ClusteringConfigurationException("Silo:Kubernetes is true and Silo:Clustering is Localhost; expected Redis or Postgres, a membership store the pods share.");
        }

        settings.CheckConnection();
        return settings with { Tls = ReadTls(configuration) };
    }

    /// <summary>Connections of the budget kept for membership, so its writes never queue behind grain storage.</summary>
    public const int MembershipConnections = 2;

    /// <summary>
    /// The PostgreSQL connection string for one use of the store. Membership and grain storage each
    /// get a pool of their own (Npgsql pools by connection string; the application names differ):
    /// membership <see cref="MembershipConnections"/>, storage the rest of
    /// <see cref="StoreConnections"/>, so an "I am alive" write is not queued behind a burst of
    /// storage calls (a silo whose writes stall for seconds is voted dead). A call that finds its
    /// pool busy waits for a connection (up to the string's <c>Timeout</c>) instead of opening
    /// more. Pooling is always on (off, the budget would mean nothing). The application name is
    /// the silo's endpoint and the use, so <c>pg_stat_activity</c> shows whose connections are
    /// whose (an <c>Application Name</c> in the setting is kept, with the use added).
    /// </summary>
    public string PostgresConnection(StoreUse use)
    {
        var size = use == StoreUse.Membership ? MembershipConnections : StoreConnections - MembershipConnections;
        var builder = new NpgsqlConnectionStringBuilder(Connection) { Pooling = true, MaxPoolSize = size };
        builder.MinPoolSize = Math.Min(builder.MinPoolSize, size);
        var name = string.IsNullOrEmpty(builder.ApplicationName) ? $"orleans-kafka {AdvertisedAddress}:{SiloPort}" : builder.ApplicationName;
        builder.ApplicationName = $"{name} {(use == StoreUse.Membership ? "membership" : "storage")}";
        return builder.ConnectionString;
    }

    public ConfigurationOptions RedisOptions()
    {
        var options = ConfigurationOptions.Parse(Connection);
        options.ConnectTimeout = (int)ConnectTimeout.TotalMilliseconds;
        return options;
    }

    private void CheckConnection()
    {
        try
        {
            if (Store == MembershipStore.Redis)
            {
                _ = RedisOptions();
            }
            else if (Store == MembershipStore.Postgres)
            {
                var builder = new NpgsqlConnectionStringBuilder(Connection);
                if (string.IsNullOrEmpty(builder.Host))
                {
                    throw new ArgumentException("no Host");
                }
            }
        }
        catch (ArgumentException e)
        {
            var expected = Store == MembershipStore.Redis
                ? "a StackExchange.Redis connection string such as 127.0.0.1:6379"
                : "an Npgsql connection string such as Host=127.0.0.1;Port=5432;Database=orleans;Username=postgres";
            throw new ClusteringConfigurationException($"{ConnectionKey} is not valid ({e.Message}); expected {expected}.", e);
        }
    }

    private static int Port(IConfiguration configuration, string key, int fallback)
    {
        var text = configuration[key];
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new ClusteringConfigurationException($"{key} is '{text}'; expected a port number from 1 to 65535.");
    }

    private static PeerCertificates? ReadTls(IConfiguration configuration)
    {
        var certificate = configuration["Silo:Tls:Certificate"];
        var trusted = configuration["Silo:Tls:Trusted"];
        if (string.IsNullOrEmpty(certificate))
        {
            return string.IsNullOrEmpty(trusted)
                ? null
                : throw new ClusteringConfigurationException("Silo:Tls:Trusted is set and Silo:Tls:Certificate is not; expected the silo's own certificate (a .pfx file) too, or neither.");
        }

        try
        {
            return PeerCertificates.Load(certificate, configuration["Silo:Tls:CertificatePassword"], trusted, "Silo:Tls:Certificate", "Silo:Tls:Trusted");
        }
        catch (ArgumentException e)
        {
            throw new ClusteringConfigurationException(e.Message, e);
        }
    }

    private static int Count(IConfiguration configuration, string key, int fallback, int minimum)
    {
        var text = configuration[key];
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, out var count) && count >= minimum && count <= 1000
            ? count
            : throw new ClusteringConfigurationException($"{key} is '{text}'; expected a whole number of connections from {minimum} ({MembershipConnections} of them for membership) to 1000.");
    }

    private static bool Flag(IConfiguration configuration, string key)
    {
        var text = configuration[key];
        if (text is null)
        {
            return false;
        }

        return bool.TryParse(text, out var flag)
            ? flag
            : throw new ClusteringConfigurationException($"{key} is '{text}'; expected true or false.");
    }

    private static string Redact(NpgsqlConnectionStringBuilder builder) =>
        $"Host={builder.Host};Port={builder.Port};Database={builder.Database};Username={builder.Username}";
}
