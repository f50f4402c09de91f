using Orleans.Streams;

namespace OrleansKafka.Streams;

/// <summary>A grain's subscription to a Kafka stream.</summary>
internal sealed class KafkaStreamSubscriptionHandle<T>(KafkaStreamDelivery delivery, KafkaStream<T> stream, Guid handleId) : StreamSubscriptionHandle<T>
{
    public override StreamId StreamId => stream.StreamId;

    public override string ProviderName => stream.ProviderName;

    public override Guid HandleId => handleId;

    public override Task UnsubscribeAsync()
    {
        delivery.Remove(this);
        return Task.CompletedTask;
    }

    public override Task<StreamSubscriptionHandle<T>> ResumeAsync(IAsyncObserver<T> observer, StreamSequenceToken? token = null)
    {
        KafkaStream<T>.RefuseRewind(token);
        delivery.Resume(this, observer);
        return Task.FromResult<StreamSubscriptionHandle<T>>(this);
    }

    public override Task<StreamSubscriptionHandle<T>> ResumeAsync(IAsyncBatchObserver<T> observer, StreamSequenceToken? token = null) =>
        throw KafkaStream<T>.NoBatchObservers();

    public override bool Equals(StreamSubscriptionHandle<T>? other) => other is KafkaStreamSubscriptionHandle<T> h && h.HandleId == HandleId;

    public override bool Equals(object? obj) => Equals(obj as StreamSubscriptionHandle<T>);

    public override int GetHashCode() => HandleId.GetHashCode();
}
