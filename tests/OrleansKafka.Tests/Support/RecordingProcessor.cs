using OrleansKafka.Processing;

namespace OrleansKafka.Tests.Support;

/// <summary>Records each record; holds each one briefly (yielding) so that partitions overlap in time.</summary>
public sealed class RecordingProcessor(RecordLog log) : IRecordProcessor<string, string>
{
    public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        using (log.Enter())
        {
            await Task.Yield();
            log.Add(record.Context.Partition, record.Context.Offset, record.Value);
        }
    }
}
