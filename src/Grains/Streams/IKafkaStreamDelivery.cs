using OrleansKafka.KeyGrains;

namespace OrleansKafka.Streams;

/// <summary>
/// The grain extension through which a partition grain hands a record to the stream subscriptions
/// of an implicitly subscribed grain and waits until their <c>OnNextAsync</c> completed.
/// </summary>
internal interface IKafkaStreamDelivery : IGrainExtension
{
    /// <summary>Delivers <paramref name="record"/> (an item of stream <c>(record.Topic, record.Key)</c>) to the grain's subscriptions of <paramref name="provider"/>.</summary>
    Task DeliverAsync(KeyedRecord record, string provider);

    /// <summary>Delivers consecutive items of one stream, in order, until one fails (<see cref="KeyedBatches"/>).</summary>
    Task<KeyedBatchResult> DeliverBatchAsync(KeyedRecord[] records, string provider);
}
