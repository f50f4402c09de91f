namespace OrleansKafka.Processing;

/// <summary>Processes the records of one partition a batch at a time, in offset order.</summary>
/// <remarks>
/// A batch holds consecutive records of one partition. The whole batch is committed after the
/// call returns; throwing retries the whole batch. One instance per partition activation.
/// </remarks>
public interface IBatchProcessor<TKey, TValue>
{
    /// <summary>Processes consecutive records of one partition.</summary>
    ValueTask ProcessBatchAsync(IReadOnlyList<KafkaRecord<TKey, TValue>> records, CancellationToken cancellationToken);
}
