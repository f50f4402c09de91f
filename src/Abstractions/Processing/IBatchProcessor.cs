namespace OrleansKafka.Processing;

/// <summary>Processes the records of one partition a batch at a time, in offset order.</summary>
/// <remarks>
/// A batch holds consecutive records of one partition. The whole batch is committed after the
/// call returns. Throwing runs the batch's records again one at a time, from its first record, so
/// that the processor's failure action applies to the failing record alone; the records before it
/// are processed twice (at-least-once). One instance per partition activation.
/// </remarks>
public interface IBatchProcessor<TKey, TValue>
{
    /// <summary>Processes consecutive records of one partition.</summary>
    ValueTask ProcessBatchAsync(IReadOnlyList<KafkaRecord<TKey, TValue>> records, CancellationToken cancellationToken);
}
