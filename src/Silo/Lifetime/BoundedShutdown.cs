using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansKafka.Silo.Lifetime;

/// <summary>
/// Runs the started host until it is told to stop (SIGTERM, Ctrl+C), and makes sure the process
/// then ends within the host's shutdown timeout, whatever the stop waits for.
/// </summary>
/// <remarks>
/// The host gives its services <see cref="HostOptions.ShutdownTimeout"/> (30 s unless
/// <c>shutdownTimeoutSeconds</c> is set), then cancels their stop; Orleans then stops
/// ungracefully, which still writes the silo's status to the membership store and retries that
/// write for as long as <c>ClusterMembershipOptions.MaxJoinAttemptTime</c> (5 minutes). With the
/// store gone the process would linger for minutes, holding its ports and its Kafka clients.
/// After the timeout and a short allowance for the ungraceful stop, the process exits anyway,
/// with exit code 3: what it could not say the store learns from the other silos' probes, and
/// what it could not commit is processed again by the partition's next owner.
/// </remarks>
internal static class BoundedShutdown
{
    /// <summary>Time for Orleans' ungraceful stop once the host has cancelled the graceful one.</summary>
    private static readonly TimeSpan UngracefulAllowance = TimeSpan.FromSeconds(2);

    /// <summary>Exit code when the stop was cut short.</summary>
    public const int CutShort = 3;

    /// <summary>Waits until the host has stopped, or until the bound after it began to stop; returns the exit code.</summary>
    public static async Task<int> RunAsync(IHost host)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var bound = host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout + UngracefulAllowance;
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());

        var stopped = host.WaitForShutdownAsync();
        await Task.WhenAny(stopped, stopping.Task);
        if (await Task.WhenAny(stopped, Task.Delay(bound)) == stopped)
        {
            await stopped;
            return 0;
        }

        await Console.Error.WriteLineAsync(
            $"Shutdown did not finish within {bound.TotalSeconds:0} s (the host's shutdown timeout and {UngracefulAllowance.TotalSeconds:0} s for the ungraceful stop); " +
            "exiting without it. Likely the membership store or Kafka cannot be reached: other silos declare this one dead, and partitions it could not commit are processed again by their next owner.");
        return CutShort;
    }
}
