using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// The chaos harness's stateful batch processor (form <c>stateful-batch</c>): applies each record
/// of a batch to its exactly-once <see cref="AuditState"/> as it goes, and writes every record's
/// end event, with the state after it, once the whole batch has succeeded.
/// </summary>
/// <remarks>
/// Every record at an offset of <see cref="FailEvery"/>·n + <see cref="FailEvery"/>/2 fails the
/// first time this instance (one per partition activation) meets it in a batch of more than one
/// record, after the records before it have changed the state: the batch must then be rolled back
/// to its stored state before its records run again, or they would count twice.
/// </remarks>
internal sealed class AuditBatchProcessor(AuditLog log) : IBatchProcessor<byte[], byte[]>, IStatefulProcessor<AuditState>
{
    /// <summary>How far apart the offsets are that fail once.</summary>
    public const int FailEvery = 50;

    private readonly HashSet<long> _failed = [];

    public AuditState State { get; set; } = new();

    public async ValueTask ProcessBatchAsync(IReadOnlyList<KafkaRecord<byte[], byte[]>> records, CancellationToken cancellationToken)
    {
        var after = new string[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var context = records[i].Context;
            log.Event('S', context.ConsumerGroup, context.Partition, context.Offset, AuditLog.KeyText(records[i].Key), context.LeaseEpoch);
            if (records.Count > 1 && context.Offset % FailEvery == FailEvery / 2 && _failed.Add(context.Offset))
            {
                throw new InvalidOperationException($"Offset {context.Offset} fails once in a batch, by design of the audit batch processor, after {i} record(s) of the batch changed the state.");
            }

            State.Apply(context.Offset);
            after[i] = State.ToString();
        }

        await AuditLog.WorkAsync();
        for (var i = 0; i < records.Count; i++)
        {
            var context = records[i].Context;
            log.Event('E', context.ConsumerGroup, context.Partition, context.Offset, AuditLog.KeyText(records[i].Key), context.LeaseEpoch, after[i]);
        }
    }
}
