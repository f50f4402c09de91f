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

    /// <summary>
    /// Adds a Kafka stream provider named <paramref name="name"/> (<c>GetStreamProvider(name)</c>):
    /// the topic of <c>Kafka:Processors:&lt;name&gt;</c> is a stream namespace, each record goes to
    /// the stream of its key as a <c>KeyedRecord&lt;TValue&gt;</c>, and grains with
    /// <c>[ImplicitStreamSubscription("&lt;topic&gt;")]</c> receive their stream in offset order.
    /// The group's offset is committed once their <c>OnNextAsync</c> completed; a subscriber that
    /// throws follows the processor's failure policy. Producing to a stream of the provider writes
    /// to the topic its namespace names, with the stream key as the record key.
    /// </summary>
    IKafkaProcessingBuilder AddKafkaStreams<TValue>(string name, Action<ProcessorOptions>? configure = null);

    /// <summary>
    /// Adds the topic of <c>Kafka:Processors:&lt;name&gt;</c> as one more stream namespace of the
    /// Kafka stream provider <paramref name="provider"/> (added if it is not yet), as
    /// <see cref="AddKafkaStreams{TValue}(string, Action{ProcessorOptions}?)"/> does for its own name.
    /// </summary>
    IKafkaProcessingBuilder AddKafkaStreamNamespace<TValue>(string provider, string name, Action<ProcessorOptions>? configure = null);
}
