using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansKafka.Testing.Processes;

/// <summary>
/// Silo host processes (<c>src/Silo</c>) on loopback around a Redis or PostgreSQL membership store and the
/// embedded Kafka in a process of its own: what <c>deploy/local/cluster.sh</c> runs, for tests
/// and benchmarks that kill real processes.
/// </summary>
public sealed partial class SiloProcessCluster : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly SiloProcessClusterOptions _options;
    private readonly IAsyncDisposable _store;
    private readonly IReadOnlyDictionary<string, string> _storeSettings;
    private readonly ChildProcess _kafka;
    private int _storeStopped;

    private SiloProcessCluster(SiloProcessClusterOptions options, IAsyncDisposable store, IReadOnlyDictionary<string, string> storeSettings, ChildProcess kafka, string bootstrapServers)
    {
        _options = options;
        _store = store;
        _storeSettings = storeSettings;
        _kafka = kafka;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The embedded Kafka's bootstrap servers.</summary>
    public string BootstrapServers { get; }

    /// <summary>The settings that point a silo at the membership and grain store (<c>Silo__Redis</c> = <c>127.0.0.1:port</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> StoreSettings => _storeSettings;

    /// <summary>Every silo started so far, killed and stopped ones included, in start order.</summary>
    public IReadOnlyList<SiloProcess> Silos => _silos;

    /// <summary>Starts the store, Kafka and <see cref="SiloProcessClusterOptions.Silos"/> silos, and waits until each silo is up.</summary>
    public static async Task<SiloProcessCluster> StartAsync(SiloProcessClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (store, storeSettings) = await StartStoreAsync(options.Store);
        var topics = options.Topics.ToDictionary(t => $"Kafka__Embedded__Topics__{t.Key}", t => t.Value.ToString(CultureInfo.InvariantCulture));
        if (options.BrokerRacks is { Length: > 0 } racks)
        {
            topics["Kafka__Embedded__Racks"] = racks;
        }

        var kafka = ChildProcess.Start("kafka", "dotnet", [SiloAssemblyPath(options), "kafka"], topics);
        var bootstrap = (await kafka.WaitForOutputAsync(BootstrapLine(), TimeSpan.FromSeconds(30))).Groups[1].Value;
        var cluster = new SiloProcessCluster(options, store, storeSettings, kafka, bootstrap);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, options.Silos).Select(_ => cluster.StartSiloAsync()));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Starts one more silo, with <paramref name="settings"/> over the cluster's, and waits until it is up.</summary>
    /// <exception cref="TimeoutException">The silo exited or did not come up in time; the message has its output's tail.</exception>
    public async Task<SiloProcess> StartSiloAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var ports = LoopbackPorts.Free(3);
        var environment = new Dictionary<string, string>(_options.Settings, StringComparer.Ordinal);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var cluster = new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["Silo__GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["Dashboard__Urls"] = $"http://127.0.0.1:{ports[2]}",
            ["Kafka__BootstrapServers"] = BootstrapServers,
        };
        foreach (var (key, value) in cluster.Concat(_storeSettings))
        {
            environment[key] = value;
        }

        environment.TryAdd("Demo__Enabled", "false");
        SiloProcess silo;
        lock (_silos)
        {
            var name = $"silo-{_silos.Count}";
            var uid = _options.FirstSiloUid + _silos.Count;
            var process = uid is null
                ? ChildProcess.Start(name, "dotnet", [SiloAssemblyPath(_options)], environment)
                : ChildProcess.Start(name, "setpriv", [$"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--", "dotnet", SiloAssemblyPath(_options)], UserEnvironment(environment));
            silo = new SiloProcess(name, $"127.0.0.1:{ports[0]}", ports[1], process) { Uid = uid };
            _silos.Add(silo);
        }

        await silo.Process.WaitForOutputAsync(StartedLine(), TimeSpan.FromSeconds(60));
        return silo;
    }

    /// <summary>Kills the embedded Kafka's process (SIGKILL): every broker goes away at once.</summary>
    public ValueTask KillKafkaAsync() => _kafka.DisposeAsync();

    /// <summary>Stops the membership and grain store's server: the silos lose membership and grain state at once.</summary>
    public ValueTask KillStoreAsync() => Interlocked.Exchange(ref _storeStopped, 1) == 0 ? _store.DisposeAsync() : ValueTask.CompletedTask;

    /// <inheritdoc />
    /// <remarks>Stops every process even when stopping one fails; the first failure is thrown after.</remarks>
    public async ValueTask DisposeAsync()
    {
        List<IAsyncDisposable> processes;
        lock (_silos)
        {
            processes = [.. _silos.Select(s => s.Process), _kafka];
        }

        var failures = new List<Exception>();
        foreach (var process in processes)
        {
            try
            {
                await process.DisposeAsync();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        try
        {
            await KillStoreAsync();
        }
        catch (Exception e)
        {
            failures.Add(e);
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("Stopping the cluster's processes failed.", failures);
        }
    }

    private static async Task<(IAsyncDisposable Store, IReadOnlyDictionary<string, string> Settings)> StartStoreAsync(SiloProcessStore store)
    {
        if (store == SiloProcessStore.Postgres)
        {
            var postgres = await PostgresServer.StartAsync();
            return (postgres, new Dictionary<string, string> { ["Silo__Clustering"] = "Postgres", ["Silo__Postgres"] = postgres.ConnectionString });
        }

        var redis = await RedisServer.StartAsync();
        return (redis, new Dictionary<string, string> { ["Silo__Clustering"] = "Redis", ["Silo__Redis"] = redis.ConnectionString });
    }

    /// <summary>A silo under a user id of its own has no home of its own: the temporary folder serves.</summary>
    private static Dictionary<string, string> UserEnvironment(Dictionary<string, string> environment) =>
        new(environment, StringComparer.Ordinal) { ["HOME"] = Path.GetTempPath(), ["DOTNET_CLI_HOME"] = Path.GetTempPath() };

    private static string SiloAssemblyPath(SiloProcessClusterOptions options) => options.SiloAssembly ?? SiloHostAssembly.Locate();

    [GeneratedRegex("bootstrap servers: ([^;]+);")]
    private static partial Regex BootstrapLine();

    [GeneratedRegex("Application started")]
    private static partial Regex StartedLine();
}
