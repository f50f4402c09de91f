using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Processing;

namespace OrleansKafka.Streams;

/// <summary>Registers a topic as a stream namespace of a Kafka stream provider: each record goes to the implicit subscribers of its key's stream.</summary>
internal static class StreamRegistration
{
    public static ProcessorRegistration Create<TValue>(string provider, string name) =>
        new(name, typeof(TValue), typeof(string), typeof(TValue), (services, group) => new StreamPipeline<TValue>(
            new KeyGrains.GrainReferences(services.GetRequiredService<IGrainFactory>(), services, typeof(IKafkaStreamDelivery)), services.GetRequiredService<ImplicitSubscribers>(), RecordDecoder<TValue>.Create(services), group, provider, services.GetRequiredService<TimeProvider>()))
        {
            Description = $"Kafka stream provider '{provider}'",
            SendsToGrains = true,
        };
}
