using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Hosting;

/// <summary>
/// The README's silo process started with one bad setting over its shipped ones (as an operator's
/// environment variables would give it): it exits with code 2 within seconds, and its message
/// names the setting, the value and what was expected. Record-level bad input (malformed,
/// oversize, not deserializable) is in <c>Silo/DemoTests</c> and <c>Processing/Failures</c>.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class BadConfigurationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// Settings are <c>KEY=VALUE</c> pairs separated by <c>|</c>; <c>{port}</c> in a setting or in
    /// the message is a loopback port nothing listens on.
    /// </summary>
    [Theory]
    [InlineData("misspelt key", "Kafka__Procesors__forwarder__Topic=demo-orders", "Kafka:Procesors:forwarder:Topic is not a setting of the silo host")]
    [InlineData("malformed bootstrap string", "Kafka__BootstrapServers=broker one;9092", "Kafka:BootstrapServers is 'broker one;9092' ('broker one;9092' is not host:port); expected host:port pairs")]
    [InlineData("bootstrap port out of range", "Kafka__BootstrapServers=127.0.0.1:9092,127.0.0.1:99999", "('127.0.0.1:99999' is not host:port)")]
    [InlineData("unreachable brokers", "Kafka__BootstrapServers=127.0.0.1:{port}|Kafka__StartupTimeout=00:00:03", "Kafka at Kafka:BootstrapServers = '127.0.0.1:{port}' did not answer within Kafka:StartupTimeout (00:00:03)")]
    [InlineData("unknown topic", "Kafka__Processors__forwarder__Topic=no-such-topic", "Topic 'no-such-topic' (consumer group 'demo-forwarder') does not exist")]
    [InlineData("partition count of 0", "Kafka__Embedded__Topics__demo-orders=0", "Kafka:Embedded:Topics:demo-orders is 0; expected a partition count of 1 or more.")]
    [InlineData("unknown processor type", "Kafka__Processors__ghost__Topic=demo-orders|Kafka__Processors__ghost__Group=g", "Kafka:Processors:ghost configures a processor that is not registered; expected one of: audit, audit-batch, audit-keys, audit-state, audit-streams, customer-totals, forwarder, kafka, order-totals, skew.")]
    [InlineData("processor with no topic", "Kafka__Processors__forwarder__Topic=", "Kafka:Processors:forwarder:Topic is empty; expected the name of the topic to process.")]
    [InlineData("processor with no group", "Kafka__Processors__forwarder__Group=", "Kafka:Processors:forwarder:Group is empty; expected the consumer group to commit offsets under.")]
    [InlineData("two processors on one topic and group", "Kafka__Processors__order-totals__Group=demo-forwarder", "all read topic 'demo-orders' in consumer group 'demo-forwarder'; expected one processor per topic and group")]
    [InlineData("negative duration", "Kafka__LeaseDuration=-00:00:02", "Kafka:LeaseDuration is -00:00:02; expected a positive duration")]
    [InlineData("zero duration", "Kafka__CommitInterval=00:00:00", "Kafka:CommitInterval is 00:00:00; expected a positive duration")]
    [InlineData("duration that is not one", "Kafka__LeaseDuration=2s", "Kafka:LeaseDuration is '2s'; expected a duration such as 00:00:05 (hh:mm:ss).")]
    [InlineData("renew interval not shorter than the lease", "Kafka__LeaseRenewInterval=00:00:02", "Kafka:LeaseRenewInterval is 00:00:02 and Kafka:LeaseDuration is 00:00:02; expected the lease to last at least two renew intervals")]
    [InlineData("retry limit below 1", "Kafka__Processors__forwarder__MaxAttempts=0", "Kafka:Processors:forwarder:MaxAttempts is 0; expected 1 or more.")]
    [InlineData("unknown failure policy", "Kafka__Processors__forwarder__OnFailure=Retry", "Kafka:Processors:forwarder:OnFailure is 'Retry'; expected one of Hold, DeadLetter, Skip, HoldKey.")]
    [InlineData("dead-letter topic that is the source", "Kafka__Processors__order-totals__DeadLetterTopic=demo-orders", "Kafka:Processors:order-totals:DeadLetterTopic is 'demo-orders', the topic the processor reads; expected another topic")]
    [InlineData("whole number that is not one", "Kafka__FetchConsumers=four", "Kafka:FetchConsumers is 'four'; expected a whole number")]
    [InlineData("silo weight out of range", "Kafka__SiloWeight=5000", "Kafka:SiloWeight is 5000; expected a whole number from 0 (a standby) to 1000.")]
    [InlineData("unknown clustering kind", "Silo__Clustering=Zookeeper", "Silo:Clustering is 'Zookeeper'; expected Localhost, Redis or Postgres.")]
    [InlineData("wrongly addressed membership store", "Silo__Clustering=Postgres|Silo__Postgres=Port=5432;Database=orleans", "Silo:Postgres is not valid (no Host); expected an Npgsql connection string such as Host=127.0.0.1;Port=5432")]
    [InlineData("unreachable membership store", "Silo__Clustering=Postgres|Silo__Postgres=Host=127.0.0.1;Port={port};Database=orleans;Username=postgres;Password=hunter2", "Silo:Postgres = 'Host=127.0.0.1;Port={port};Database=orleans;Username=postgres': the Postgres membership store did not answer within 5 s")]
    [InlineData("advertised address that is not an IP", "Silo__Clustering=Redis|Silo__AdvertisedAddress=silo-1", "Silo:AdvertisedAddress is 'silo-1'; expected an IP address such as 127.0.0.1.")]
    [InlineData("store connection budget of 0", "Silo__StoreConnections=0", "Silo:StoreConnections is '0'; expected a whole number of connections from 3 (2 of them for membership) to 1000.")]
    [InlineData("silo port out of range", "Silo__SiloPort=70000", "Silo:SiloPort is '70000'; expected a port number from 1 to 65535.")]
    [InlineData("gateway port that is not a number", "Silo__GatewayPort=gateway", "Silo:GatewayPort is 'gateway'; expected a port number from 1 to 65535.")]
    [InlineData("Kubernetes flag that is not a flag", "Silo__Kubernetes=maybe", "Silo:Kubernetes is 'maybe'; expected true or false.")]
    [InlineData("Kubernetes without a shared store", "Silo__Kubernetes=true", "Silo:Kubernetes is true and Silo:Clustering is Localhost; expected Redis or Postgres")]
    [InlineData("dashboard URL that is not one", "Dashboard__Urls=127.0.0.1:8080", "Dashboard:Urls is '127.0.0.1:8080'; expected http://address:port URLs separated by ';'")]
    [InlineData("operator token shorter than 32 characters", "Dashboard__Token=short-secret", "Dashboard:Token has 12 characters; expected at least 32")]
    [InlineData("dashboard trace flag that is not a flag", "Dashboard__Trace=often", "Dashboard:Trace is 'often'; expected true or false.")]
    [InlineData("demo rate of 0", "Demo__RecordsPerSecond=0", "Demo:RecordsPerSecond is less than 1; expected 1 or more records a second when Demo:Enabled is true.")]
    public async Task Start_BadSetting_ExitsWithCode2WithinSeconds_NamingTheSettingAndWhatWasExpected(string @case, string settings, string expected)
    {
        var port = LoopbackPorts.Free(1)[0].ToString(CultureInfo.InvariantCulture);
        var environment = Ports();
        foreach (var pair in settings.Split('|'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            environment[pair[..equals]] = pair[(equals + 1)..].Replace("{port}", port, StringComparison.Ordinal);
        }

        var (exitCode, lines, elapsed) = await RunSiloAsync(environment);

        output.WriteLine($"{@case}: exit {exitCode} after {elapsed.TotalSeconds:0.0} s");
        var text = string.Join('\n', lines);
        Assert.True(exitCode == 2, $"{@case}: exit code {exitCode}, expected 2:\n{text}");
        // One line says it all (the host may log the exception with its stack trace before it).
        var failure = Assert.Single(lines, l => l.StartsWith("Start-up failed: ", StringComparison.Ordinal));
        Assert.Contains(expected.Replace("{port}", port, StringComparison.Ordinal), failure, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        // Most cases end in 1-3 s; the rest is a .NET process (and an embedded Kafka) starting on
        // two cores shared with the other test classes.
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"{@case}: start-up took {elapsed} to fail");
    }

    [Fact]
    public async Task Start_WebPortInUse_ExitsWithCode2NamingTheAddress()
    {
        using var taken = new TcpListener(IPAddress.Loopback, LoopbackPorts.Free(1)[0]);
        taken.Start();
        var environment = Ports();
        environment["Dashboard__Urls"] = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var (exitCode, lines, _) = await RunSiloAsync(environment);

        var text = string.Join('\n', lines);
        Assert.True(exitCode == 2, $"exit code {exitCode}, expected 2:\n{text}");
        var failure = Assert.Single(lines, l => l.StartsWith("Start-up failed: ", StringComparison.Ordinal));
        Assert.Contains($"Failed to bind to address http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_PostgresDatabaseWithoutTheGrainStorageQueries_ExitsWithCode2NamingStorageSql()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using (var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString))
        {
            // A database set up with membership.sql alone, as before storage.sql existed.
            await connection.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand("DELETE FROM OrleansQuery WHERE QueryKey IN ('ReadFromStorageKey', 'WriteToStorageKey', 'ClearStorageKey', 'DeleteStorageKey')", connection);
            await drop.ExecuteNonQueryAsync();
        }

        var environment = Ports();
        environment["Silo__Clustering"] = "Postgres";
        environment["Silo__Postgres"] = postgres.ConnectionString;

        var (exitCode, lines, elapsed) = await RunSiloAsync(environment);

        var text = string.Join('\n', lines);
        Assert.True(exitCode == 2, $"exit code {exitCode}, expected 2:\n{text}");
        var failure = Assert.Single(lines, l => l.StartsWith("Start-up failed: ", StringComparison.Ordinal));
        Assert.Contains("the database has the membership tables but not the grain storage of deploy/postgres/storage.sql", failure, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"start-up took {elapsed} to fail");
    }

    /// <summary>Free loopback ports for the silo, the gateway and the web host, so that cases never collide with another silo.</summary>
    private static Dictionary<string, string> Ports()
    {
        var ports = LoopbackPorts.Free(3);
        return new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = $"{ports[0]}",
            ["Silo__GatewayPort"] = $"{ports[1]}",
            ["Dashboard__Urls"] = $"http://127.0.0.1:{ports[2]}",
        };
    }

    private static async Task<(int ExitCode, IReadOnlyList<string> Lines, TimeSpan Elapsed)> RunSiloAsync(Dictionary<string, string> environment)
    {
        var clock = Stopwatch.StartNew();
        await using var silo = ChildProcess.Start("silo", "dotnet", [SiloHostAssembly.Locate()], environment);
        var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, [.. silo.Output], clock.Elapsed);
    }
}
