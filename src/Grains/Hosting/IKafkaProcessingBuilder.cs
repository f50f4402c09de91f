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
}
