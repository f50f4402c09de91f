using Confluent.Kafka;

namespace OrleansKafka.Processing;

/// <summary>Feeds an <see cref="IRecordProcessor{TKey, TValue}"/> one record per call.</summary>
internal sealed class RecordPipeline<TKey, TValue>(
    IRecordProcessor<TKey, TValue> processor,
    RecordDecoder<TKey> keys,
    RecordDecoder<TValue> values,
    string group) : ProcessorPipeline
{
    public override int UnitLength(int remaining) => 1;

    public override ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken) =>
        processor.ProcessAsync(RecordFactory.Create(records[index], keys, values, group, epoch), cancellationToken);
}
