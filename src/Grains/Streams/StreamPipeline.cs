using Confluent.Kafka;
using OrleansKafka.KeyGrains;
using OrleansKafka.Processing;
using Polly;

namespace OrleansKafka.Streams;

/// <summary>
/// Delivers each record to the implicit subscribers of its stream (namespace: the topic; key: the
/// record key, or <c>&lt;topic&gt;/&lt;partition&gt;</c> without one) and waits until each
/// subscriber's <c>OnNextAsync</c> completed. Runs key-ordered, so a stream's records arrive in
/// offset order while streams of one partition run at once.
/// </summary>
internal sealed class StreamPipeline<TValue>(IGrainFactory grains, ImplicitSubscribers subscribers, RecordDecoder<TValue> values, string group, string provider, TimeProvider time) : ProcessorPipeline
{
    private readonly ResiliencePipeline _undelivered = UndeliveredCalls.Retry(time);

    public override int UnitLength(int remaining) => 1;

    public override string ChainOf(ConsumeResult<byte[], byte[]> record) => KeyedRecordFactory.ChainOf(record, integerKeys: false);

    public override async ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        var record = KeyedRecordFactory.Create(records[index], values, group, epoch, "stream");
        var stream = StreamId.Create(record.Topic, record.Key);
        var receivers = subscribers.Of(stream);
        if (receivers.Length == 0)
        {
            // Not a silent drop: the partition's failure policy decides (Hold by default) while nobody listens.
            throw new InvalidOperationException($"No grain is implicitly subscribed to stream namespace '{record.Topic}' of provider '{provider}' (offset {record.Offset} of partition {record.Partition}); expected a grain class with [ImplicitStreamSubscription(\"{record.Topic}\")] on the silos.");
        }

        foreach (var subscriber in receivers)
        {
            var delivery = grains.GetGrain(subscriber).AsReference<IKafkaStreamDelivery>();
            await UndeliveredCalls.CallAsync(_undelivered, static call => call.Delivery.DeliverAsync(call.Record, call.Provider), (Delivery: delivery, Record: (KeyedRecord)record, Provider: provider), cancellationToken);
        }
    }
}
