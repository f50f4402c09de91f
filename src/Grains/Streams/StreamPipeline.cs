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
internal sealed class StreamPipeline<TValue>(GrainReferences deliveries, ImplicitSubscribers subscribers, RecordDecoder<TValue> values, string group, string provider, TimeProvider time) : ProcessorPipeline
{
    private readonly ResiliencePipeline _undelivered = UndeliveredCalls.Retry(time);
    private readonly KeyBatchSizer _sizer = new(time);

    public override int UnitLength(int remaining) => 1;

    public override int ChainUnitLimit => _sizer.Limit;

    public override string ChainOf(ConsumeResult<byte[], byte[]> record) => KeyedRecordFactory.ChainOf(record, integerKeys: false);

    /// <remarks><c>records[index..index+count)</c> are records of one stream (see <see cref="ChainUnitLimit"/>).</remarks>
    public override async ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        var batch = new KeyedRecord[count];
        for (var i = 0; i < count; i++)
        {
            batch[i] = KeyedRecordFactory.Create(records[index + i], values, group, epoch, "stream");
        }

        var first = batch[0];
        var stream = StreamId.Create(first.Topic, first.Key);
        var receivers = subscribers.Of(stream);
        if (receivers.Length == 0)
        {
            // Not a silent drop: the partition's failure policy decides (Hold by default) while nobody listens.
            throw new InvalidOperationException($"No grain is implicitly subscribed to stream namespace '{first.Topic}' of provider '{provider}' (offset {first.Offset} of partition {first.Partition}); expected a grain class with [ImplicitStreamSubscription(\"{first.Topic}\")] on the silos.");
        }

        // Measured answered or not: a call that timed out says the most about the subscriber.
        var startedAt = _sizer.Start();
        try
        {
            await DeliverAsync(batch, receivers, cancellationToken);
        }
        finally
        {
            _sizer.Observe(startedAt, count);
        }
    }

    private async Task DeliverAsync(KeyedRecord[] batch, GrainId[] receivers, CancellationToken cancellationToken)
    {
        if (batch.Length > 1 && receivers.Length == 1)
        {
            // The common case, one subscribing grain: the records go in one call.
            var delivery = (IKafkaStreamDelivery)deliveries.Of(receivers[0]);
            var outcome = await UndeliveredCalls.CallAsync(_undelivered, static call => call.Delivery.DeliverBatchAsync(call.Records, call.Provider), (Delivery: delivery, Records: batch, Provider: provider), cancellationToken);
            if (outcome.Failure is { } failure)
            {
                throw new UnitIncompleteException(outcome.Completed, failure is SiloStalledException ? null : failure);
            }

            return;
        }

        // Each record to every subscriber before the next record.
        for (var i = 0; i < batch.Length; i++)
        {
            try
            {
                foreach (var subscriber in receivers)
                {
                    var delivery = (IKafkaStreamDelivery)deliveries.Of(subscriber);
                    await UndeliveredCalls.CallAsync(_undelivered, static call => call.Delivery.DeliverAsync(call.Record, call.Provider), (Delivery: delivery, Record: batch[i], Provider: provider), cancellationToken);
                }
            }
            catch (Exception e) when (batch.Length > 1 && e is not OperationCanceledException)
            {
                throw new UnitIncompleteException(i, e);
            }
        }
    }
}
