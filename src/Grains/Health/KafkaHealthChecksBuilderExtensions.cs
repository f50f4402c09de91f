using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OrleansKafka.Health;

/// <summary>Health checks for a silo that processes Kafka.</summary>
public static class KafkaHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that is healthy when the silo is Active in its cluster, Kafka answers a
    /// metadata request within 2 s, and every consumer group's lease grain answers this silo's
    /// heartbeats; meant for a readiness probe. Needs <c>AddKafkaProcessing</c> on the silo.
    /// </summary>
    public static IHealthChecksBuilder AddKafkaProcessing(this IHealthChecksBuilder builder, string name = "kafka-processing", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<KafkaReachability>();
        return builder.AddCheck<KafkaProcessingHealthCheck>(name, failureStatus: null, tags: tags ?? []);
    }
}
