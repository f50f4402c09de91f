using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansKafka.Partitions;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench.Chaos;

/// <summary>
/// The faults of <c>chaos --mode graceful</c>: hand-overs rather than expiries. A silo stopped
/// with SIGTERM (it drains, commits and releases its partitions, then exits) and started again,
/// and an operator's move of a partition to another silo through the grain interface, as the CLI
/// does it.
/// </summary>
internal static class GracefulFaults
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    /// <summary>SIGTERM, then waits for the exit; a silo that does not exit in time is killed and the note says so.</summary>
    public static async Task<string> StopAsync(SiloProcess victim)
    {
        var stoppedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        victim.Process.Terminate();
        try
        {
            var code = await victim.Process.WaitForExitAsync(StopTimeout);
            return string.Create(CultureInfo.InvariantCulture, $"stopped {victim.Name} ({victim.Endpoint}) with SIGTERM: exit code {code} after {System.Diagnostics.Stopwatch.GetElapsedTime(stoppedAt).TotalSeconds:0.0} s");
        }
        catch (TimeoutException)
        {
            victim.Process.KillHard();
            return $"stopped {victim.Name} ({victim.Endpoint}) with SIGTERM: it did not exit within {StopTimeout.TotalSeconds:0} s and was killed";
        }
    }

    /// <summary>Moves a random partition of <paramref name="topic"/> in <paramref name="group"/> from its owner to another of <paramref name="silos"/>.</summary>
    public static async Task<string> MoveAsync(IReadOnlyList<SiloProcess> silos, string group, string topic, int partitions, Random random)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(silos.Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray())
            .Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("dev", "dev")));
        using var host = builder.Build();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            await host.StartAsync(timeout.Token);
        }

        try
        {
            var grains = host.Services.GetRequiredService<IClusterClient>();
            var partition = random.Next(partitions);
            var grain = grains.GetPartitionGrain(group, topic, partition);
            var owner = (await grain.GetStatusAsync()).Silo;
            var targets = silos.Where(s => s.Endpoint != owner).ToList();
            if (targets.Count == 0)
            {
                return $"no silo to move partition {partition} to (owner {owner})";
            }

            var target = targets[random.Next(targets.Count)];
            try
            {
                await grain.MoveAsync(target.Endpoint);
                return $"an operator moved partition {partition} from {owner} to {target.Name} ({target.Endpoint})";
            }
            catch (InvalidOperationException ex)
            {
                // Between owners: the operator's command says so and changes nothing.
                return $"an operator's move of partition {partition} to {target.Name} was refused: {ex.Message}";
            }
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(5));
        }
    }
}
