using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// The chaos harness's stateful record processor (form <c>stateful</c>): applies each record to
/// its exactly-once <see cref="AuditState"/> once the record's work is done, and writes the state
/// after the record in its end event.
/// </summary>
internal sealed class AuditStatefulProcessor(AuditLog log) : IRecordProcessor<byte[], byte[]>, IStatefulProcessor<AuditState>
{
    public AuditState State { get; set; } = new();

    public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        var context = record.Context;
        var key = AuditLog.KeyText(record.Key);
        log.Event('S', context.ConsumerGroup, context.Partition, context.Offset, key, context.LeaseEpoch);
        await AuditLog.WorkAsync();

        // After the last await, as IStatefulProcessor asks of a record processor.
        State.Apply(context.Offset);
        log.Event('E', context.ConsumerGroup, context.Partition, context.Offset, key, context.LeaseEpoch, State.ToString());
    }
}
