using Orleans.Streams;

namespace OrleansKafka.Streams;

/// <summary>A Kafka stream provider, as <c>GetStreamProvider(name)</c> returns it.</summary>
internal sealed class KafkaStreamProvider(string name, KafkaStreamProducer producer, IGrainContextAccessor context) : IStreamProvider
{
    public string Name => name;

    public bool IsRewindable => false;

    public IAsyncStream<T> GetStream<T>(StreamId streamId) => new KafkaStream<T>(name, streamId, producer, context);
}
