using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace OrleansKafka.Streams;

/// <summary>
/// A stream of a Kafka stream provider: namespace = topic, key = record key. Producing writes to
/// the topic with the stream key as the record key, and completes once Kafka acknowledged it.
/// Subscribing registers an observer of the calling grain activation, which receives the stream's
/// records (<c>KeyedRecord&lt;TValue&gt;</c>) in offset order, each with an
/// <see cref="EventSequenceTokenV2"/> of its offset.
/// </summary>
internal sealed class KafkaStream<T>(string provider, StreamId streamId, KafkaStreamProducer producer, IGrainContextAccessor context) : IAsyncStream<T>
{
    public bool IsRewindable => false;

    public string ProviderName => provider;

    public StreamId StreamId => streamId;

    public Task OnNextAsync(T item, StreamSequenceToken? token = null) => producer.ProduceAsync(streamId, item);

    public Task OnNextBatchAsync(IEnumerable<T> batch, StreamSequenceToken? token = null) =>
        Task.WhenAll(batch.Select(item => producer.ProduceAsync(streamId, item)));

    public Task OnCompletedAsync() => throw new NotSupportedException($"Kafka stream '{streamId}' of provider '{provider}' has no end: a topic cannot be completed.");

    public Task OnErrorAsync(Exception ex) => throw new NotSupportedException($"Kafka stream '{streamId}' of provider '{provider}' carries no errors: produce a record instead.");

    public Task<StreamSubscriptionHandle<T>> SubscribeAsync(IAsyncObserver<T> observer) => SubscribeAsync(observer, null);

    public Task<StreamSubscriptionHandle<T>> SubscribeAsync(IAsyncObserver<T> observer, StreamSequenceToken? token, string? filterData = null)
    {
        ArgumentNullException.ThrowIfNull(observer);
        RefuseRewind(token);
        return Task.FromResult(Delivery().Subscribe(this, observer));
    }

    public Task<StreamSubscriptionHandle<T>> SubscribeAsync(IAsyncBatchObserver<T> observer) => throw NoBatchObservers();

    public Task<StreamSubscriptionHandle<T>> SubscribeAsync(IAsyncBatchObserver<T> observer, StreamSequenceToken? token) => throw NoBatchObservers();

    public Task<IList<StreamSubscriptionHandle<T>>> GetAllSubscriptionHandles() => Task.FromResult(Delivery().Handles(this));

    public bool Equals(IAsyncStream<T>? other) => other is not null && other.ProviderName == provider && other.StreamId.Equals(streamId);

    public override bool Equals(object? obj) => Equals(obj as IAsyncStream<T>);

    public override int GetHashCode() => HashCode.Combine(provider, streamId);

    public int CompareTo(IAsyncStream<T>? other) => other is null ? 1
        : string.CompareOrdinal(provider, other.ProviderName) is var byProvider && byProvider != 0 ? byProvider
        : streamId.CompareTo(other.StreamId);

    public override string ToString() => $"{provider}/{streamId}";

    internal static void RefuseRewind(StreamSequenceToken? token)
    {
        if (token is not null)
        {
            throw new NotSupportedException("A Kafka stream is not rewindable: a subscription starts where the consumer group's committed offset is, so subscribe without a token (an operator's seek moves a partition).");
        }
    }

    internal static NotSupportedException NoBatchObservers() => new("Kafka streams deliver one record at a time: subscribe with an IAsyncObserver<T>.");

    private KafkaStreamDelivery Delivery() =>
        context.GrainContext?.GetComponent<IKafkaStreamDelivery>() as KafkaStreamDelivery
            ?? throw new InvalidOperationException($"Subscribe to Kafka stream '{streamId}' of provider '{provider}' from inside a grain (its OnActivateAsync): subscriptions belong to a grain activation.");
}
