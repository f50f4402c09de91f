namespace OrleansKafka.Processing;

/// <summary>Processes the records of one partition, one record at a time, in offset order.</summary>
/// <typeparam name="TKey">The record key type (byte[], string, or a JSON-deserialized type).</typeparam>
/// <typeparam name="TValue">The record value type (byte[], string, or a JSON-deserialized type).</typeparam>
/// <remarks>
/// One instance is created from DI per partition activation, so an instance never sees two
/// partitions and is never called concurrently. The token fires when the partition's lease is
/// revoked or the silo shuts down; a record whose processing is cancelled is not committed.
/// </remarks>
public interface IRecordProcessor<TKey, TValue>
{
    /// <summary>Processes one record. Throwing leaves the record uncommitted and retries it.</summary>
    ValueTask ProcessAsync(KafkaRecord<TKey, TValue> record, CancellationToken cancellationToken);
}
