using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Cluster;

/// <summary>
/// Three silo processes on one PostgreSQL server (its default 100 connections) with the demo's
/// exactly-once customer key grains under a burst of 20,000 orders to 2,000 customers: every silo
/// stays within its connection budget (<c>Silo:StoreConnections</c>, 20), no storage call meets
/// "too many clients", and the group commits everything.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class StoreBudgetTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Topic = "demo-orders";
    private const string Group = "demo-customer-totals";

    [Fact]
    public async Task ThreeSilosOnPostgres_UnderKeyGrainLoad_StayWithinTheirConnections_AndCommitEveryRecord()
    {
        var options = new SiloProcessClusterOptions { Silos = 3, Store = SiloProcessStore.Postgres };
        options.Settings["Kafka__Processors__order-totals__Enabled"] = "false";
        options.Settings["Kafka__Processors__forwarder__Enabled"] = "false";
        options.Settings["Kafka__Processors__kafka__Enabled"] = "false";
        await using var cluster = await SiloProcessCluster.StartAsync(options);
        using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 12 });
        var peaks = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        using var sampling = new CancellationTokenSource();
        var sampler = SampleConnectionsAsync(cluster.StoreSettings["Silo__Postgres"], peaks, sampling.Token);

        var produced = Stopwatch.StartNew();
        await kafka.ProduceAsync(Topic, Enumerable.Range(0, 20_000).Select(i => ((string?)$"customer-{i % 2_000:D4}", (string?)$"{{\"customer\":\"customer-{i % 2_000:D4}\",\"amount\":1}}")));
        var producedIn = produced.Elapsed;
        await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(120));
        var committedIn = produced.Elapsed;
        await sampling.CancelAsync();
        await sampler;

        output.WriteLine($"produced in {producedIn.TotalSeconds:0.0} s, committed {committedIn.TotalSeconds:0.0} s after the first record; peak connections per silo: {string.Join(", ", peaks.Select(p => $"{p.Key} {p.Value}"))}");
        foreach (var silo in cluster.Silos)
        {
            Assert.DoesNotContain(silo.Process.Output, line => line.Contains("53300", StringComparison.Ordinal) || line.Contains("too many clients", StringComparison.Ordinal));
        }

        // Every connection is a silo's, named by its endpoint and use, or the sampler's: none outside
        // the budget (such as the start-up check's). Membership keeps 2 of a silo's 20, storage the rest.
        var silos = peaks.Keys.Where(k => k.StartsWith("orleans-kafka ", StringComparison.Ordinal)).ToList();
        Assert.Equal(peaks.Count - 1, silos.Count);
        Assert.Equal(3, silos.Select(k => k.Split(' ')[1]).Distinct().Count());
        Assert.All(silos.Where(k => k.EndsWith(" membership", StringComparison.Ordinal)), k => Assert.InRange(peaks[k], 1, 2));
        Assert.All(silos.Where(k => k.EndsWith(" storage", StringComparison.Ordinal)), k => Assert.InRange(peaks[k], 1, 18));
        Assert.All(silos.GroupBy(k => k.Split(' ')[1]), silo => Assert.InRange(silo.Sum(k => peaks[k]), 1, 20));
    }

    /// <summary>The most connections each application (a silo names itself "orleans-kafka host:port") had open at once.</summary>
    private static async Task SampleConnectionsAsync(string connectionString, ConcurrentDictionary<string, int> peaks, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = "store-budget-test" }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                // A connection caught while it starts has no name yet (PostgreSQL sets it from the
                // start-up packet): one was seen once in fresh-ci, without a name for a moment.
                await using var command = new NpgsqlCommand("SELECT application_name, count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND NOT (application_name = '' AND backend_start > now() - interval '1 second') GROUP BY application_name", connection);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var count = (int)reader.GetInt64(1);
                    peaks.AddOrUpdate(reader.GetString(0), count, (_, peak) => Math.Max(peak, count));
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
