using OrleansKafka.KeyGrains;

namespace OrleansKafka.Silo.Audit;

/// <summary>The chaos harness's key grain (form <c>keygrain</c>): one per record key of the audited topic.</summary>
public interface IAuditKeyGrain : IKafkaKeyGrain<byte[]>, IGrainWithStringKey;

/// <summary>
/// A plain <see cref="IKafkaKeyGrain{TValue}"/> (no exactly-once base class, no epoch check of
/// its own): the form whose per-key order depends wholly on the partition grain finishing its
/// calls before a hand-over. Writes a start and an end event around a millisecond of work.
/// </summary>
internal sealed class AuditKeyGrain(AuditLog log) : Grain, IAuditKeyGrain
{
    public Task ProcessAsync(KeyedRecord<byte[]> record) =>
        log.AuditAsync(record.ConsumerGroup, record.Partition, record.Offset, record.Key, record.LeaseEpoch);
}
