using Confluent.Kafka;

namespace OrleansKafka.Processing;

/// <summary>Feeds an <see cref="IBatchProcessor{TKey, TValue}"/> all records of a delivery in one call.</summary>
internal sealed class BatchPipeline<TKey, TValue>(
    IBatchProcessor<TKey, TValue> processor,
    RecordDecoder<TKey> keys,
    RecordDecoder<TValue> values,
    string group) : ProcessorPipeline
{
    public override int UnitLength(int remaining) => remaining;

    public override ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        var batch = new KafkaRecord<TKey, TValue>[count];
        for (var i = 0; i < count; i++)
        {
            batch[i] = RecordFactory.Create(records[index + i], keys, values, group, epoch);
        }

        return processor.ProcessBatchAsync(batch, cancellationToken);
    }
}
