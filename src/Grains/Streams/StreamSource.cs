namespace OrleansKafka.Streams;

/// <summary>Marks a processor registration as a Kafka stream provider whose items carry values of <typeparamref name="TValue"/>.</summary>
internal sealed class StreamSource<TValue>;
