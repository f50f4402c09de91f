using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Streams;

/// <summary>
/// Per grain activation: the Kafka stream subscriptions the grain made, and the delivery of a
/// record to them. A record for a stream the grain did not subscribe to is a failure (and follows
/// the failure policy), never a silent drop.
/// </summary>
internal sealed class KafkaStreamDelivery(IGrainContextAccessor context, KeyGrainEpochFence fence) : IKafkaStreamDelivery
{
    private readonly IGrainContext _grain = context.GrainContext;
    private readonly Dictionary<(string Provider, StreamId Stream), List<Subscription>> _subscriptions = [];

    public async Task DeliverAsync(KeyedRecord record, string provider)
    {
        var stream = StreamId.Create(record.Topic, record.Key);
        if (!_subscriptions.TryGetValue((provider, stream), out var subscriptions) || subscriptions.Count == 0)
        {
            throw new InvalidOperationException(
                $"Grain {_grain.GrainId} is implicitly subscribed to stream namespace '{record.Topic}' but has no subscription to stream '{record.Key}' of provider '{provider}' (offset {record.Offset} of partition {record.Partition}); expected a GetStreamProvider(\"{provider}\").GetStream<T>(...).SubscribeAsync(observer) in its OnActivateAsync.");
        }

        var token = new EventSequenceTokenV2(record.Offset);
        if (subscriptions.Count == 1)
        {
            await subscriptions[0].DeliverAsync(record, token);
            return;
        }

        // A copy: an observer may unsubscribe or subscribe again while it runs.
        foreach (var subscription in subscriptions.ToArray())
        {
            await subscription.DeliverAsync(record, token);
        }
    }

    public Task<KeyedBatchResult> DeliverBatchAsync(KeyedRecord[] records, string provider) =>
        KeyedBatches.RunAsync(_grain, fence, records, record => DeliverAsync(record, provider));

    public StreamSubscriptionHandle<T> Subscribe<T>(KafkaStream<T> stream, IAsyncObserver<T> observer)
    {
        var handle = new KafkaStreamSubscriptionHandle<T>(this, stream, Guid.NewGuid());
        Add((stream.ProviderName, stream.StreamId), new Subscription<T>(handle.HandleId, observer));
        return handle;
    }

    public void Resume<T>(KafkaStreamSubscriptionHandle<T> handle, IAsyncObserver<T> observer)
    {
        Remove(handle);
        Add((handle.ProviderName, handle.StreamId), new Subscription<T>(handle.HandleId, observer));
    }

    public void Remove<T>(KafkaStreamSubscriptionHandle<T> handle)
    {
        if (_subscriptions.TryGetValue((handle.ProviderName, handle.StreamId), out var list))
        {
            list.RemoveAll(s => s.HandleId == handle.HandleId);
        }
    }

    public IList<StreamSubscriptionHandle<T>> Handles<T>(KafkaStream<T> stream) =>
        _subscriptions.TryGetValue((stream.ProviderName, stream.StreamId), out var list)
            ? [.. list.Select(s => new KafkaStreamSubscriptionHandle<T>(this, stream, s.HandleId))]
            : [];

    private void Add((string, StreamId) key, Subscription subscription)
    {
        if (!_subscriptions.TryGetValue(key, out var list))
        {
            _subscriptions[key] = list = [];
        }

        list.Add(subscription);
    }

    private abstract class Subscription(Guid handleId)
    {
        public Guid HandleId { get; } = handleId;

        public abstract Task DeliverAsync(KeyedRecord record, StreamSequenceToken token);
    }

    private sealed class Subscription<T>(Guid handleId, IAsyncObserver<T> observer) : Subscription(handleId)
    {
        public override Task DeliverAsync(KeyedRecord record, StreamSequenceToken token) => record is T item
            ? observer.OnNextAsync(item, token)
            : throw new InvalidOperationException($"Stream '{record.Topic}/{record.Key}' carries items of type {record.GetType().Name}, but the subscription expects {typeof(T).Name}; subscribe with GetStream<{record.GetType().Name}>.");
    }
}
