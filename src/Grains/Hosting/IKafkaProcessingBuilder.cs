using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;

namespace OrleansKafka.Hosting;

/// <summary>Registers processors on a silo configured with <c>AddKafkaProcessing</c>.</summary>
public interface IKafkaProcessingBuilder
{
    /// <summary>The silo's services.</summary>
    IServiceCollection Services { get; }

    /// <summary>
    /// Registers <typeparamref name="TProcessor"/> under <paramref name="name"/>; its topic and group
    /// come from <c>Kafka:Processors:&lt;name&gt;</c>, then <paramref name="configure"/>.
    /// </summary>
    IKafkaProcessingBuilder AddProcessor<TProcessor>(string name, Action<ProcessorOptions>? configure = null)
        where TProcessor : class;

    /// <summary>
    /// Registers the key grain interface <typeparamref name="TGrain"/> (derived from
    /// <c>IKafkaKeyGrain&lt;TValue&gt;</c>) under <paramref name="name"/>: each record goes to the
    /// grain of its key, key-ordered within <c>MaxInFlight</c>. Topic and group come from
    /// <c>Kafka:Processors:&lt;name&gt;</c>, then <paramref name="configure"/>.
    /// </summary>
    IKafkaProcessingBuilder AddKeyGrain<TGrain>(string name, Action<ProcessorOptions>? configure = null)
        where TGrain : IGrain;
}
