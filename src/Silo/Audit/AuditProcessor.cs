using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// The checking processor of the chaos harness (<c>bench -- chaos</c>, form <c>processor</c>): for
/// each record it writes a start event before and an end event after (<see cref="AuditLog.Event"/>),
/// so that lost, repeated, reordered or overlapping processing can be found afterwards from the
/// events of every silo.
/// </summary>
internal sealed class AuditProcessor(AuditLog log) : IRecordProcessor<byte[], byte[]>
{
    public ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        var context = record.Context;
        var key = AuditLog.KeyText(record.Key);
        if (log.Fails(key))
        {
            throw new InvalidOperationException($"the audit processor fails on key {key} while its fail-{key} file exists (Audit:FailKeys)");
        }

        return new ValueTask(log.AuditAsync(context.ConsumerGroup, context.Partition, context.Offset, key, context.LeaseEpoch));
    }
}
