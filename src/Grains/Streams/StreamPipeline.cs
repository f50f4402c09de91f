using Confluent.Kafka;
using Orleans.Runtime;
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
    private readonly ResiliencePipeline _undelivered = KeyedRecordFactory.UndeliveredCallRetry(time);

    public override int UnitLength(int remaining) => 1;

    public override async ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        var record = KeyedRecordFactory.Create(records[index], values, group, epoch, "stream");
        foreach (var subscriber in subscribers.Of(StreamId.Create(record.Topic, record.Key)))
        {
            var delivery = grains.GetGrain(subscriber).AsReference<IKafkaStreamDelivery>();
            await KeyedRecordFactory.CallAsync(_undelivered, static call => call.Delivery.DeliverAsync(call.Record, call.Provider), (Delivery: delivery, Record: (KeyedRecord)record, Provider: provider), cancellationToken);
        }
    }
}
