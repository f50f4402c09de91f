using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansKafka.Configuration;
using OrleansKafka.Hosting;

namespace OrleansKafka.Health;

/// <summary>
/// Ready to process: this silo is Active in the cluster membership and not stopping, its Kafka
/// answers, and the lease grain of every consumer group it processes has answered its heartbeat
/// within three lease durations (a silo that has not heard for one lease duration holds no lease).
/// </summary>
internal sealed class KafkaProcessingHealthCheck(
    KafkaProcessingService service,
    KafkaReachability kafka,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    IOptions<KafkaProcessingOptions> options,
    IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        if (status != SiloStatus.Active)
        {
            return Unready(context, $"this silo is {status} in the cluster membership; expected Active");
        }

        var lifetime = services.GetService(typeof(IHostApplicationLifetime)) as IHostApplicationLifetime;
        if (lifetime?.ApplicationStopping.IsCancellationRequested == true || !service.IsRunning)
        {
            return Unready(context, "Kafka processing is not running: the silo is starting or stopping");
        }

        var kafkaProblem = await kafka.ProbeAsync().WaitAsync(cancellationToken);
        if (kafkaProblem is not null)
        {
            return Unready(context, kafkaProblem);
        }

        var bound = options.Value.LeaseDuration * 3;
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var silent = new List<string>();
        foreach (var agent in service.Agents)
        {
            var since = agent.SinceLastAnswer();
            data[agent.Group] = since is { } age ? $"lease grain answered {age.TotalSeconds:0.0} s ago" : "lease grain never answered";
            if (agent.IsRejected)
            {
                silent.Add($"consumer group '{agent.Group}': the lease grain refuses this silo's processors (see the log)");
            }
            else if (since is not { } answered || answered > bound)
            {
                silent.Add($"consumer group '{agent.Group}': {data[agent.Group]}; expected an answer within {bound.TotalSeconds:0.#} s (3 x {KafkaProcessingOptions.SectionName}:LeaseDuration)");
            }
        }

        return silent.Count == 0
            ? HealthCheckResult.Healthy($"processing {data.Count} consumer group(s)", data)
            : new HealthCheckResult(context.Registration.FailureStatus, string.Join("; ", silent), data: data);
    }

    private static HealthCheckResult Unready(HealthCheckContext context, string description) =>
        new(context.Registration.FailureStatus, description);
}
