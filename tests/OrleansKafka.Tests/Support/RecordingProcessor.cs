using OrleansKafka.Processing;

namespace OrleansKafka.Tests.Support;

/// <summary>
/// Records each record. On the first record of a partition it waits (up to a deadline) until
/// another partition's processor is running at the same time, so overlap is observed whenever
/// partitions really run in parallel, and never when they run one after another.
/// </summary>
public sealed class RecordingProcessor(RecordLog log) : IRecordProcessor<string, string>
{
    public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        using (log.Enter(record.Context.Partition))
        {
            if (record.Context.Offset == 0)
            {
                await global::OrleansKafka.Testing.Poll.UntilAsync(() => log.MaxConcurrent > 1, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(5));
            }

            log.Add(record.Context.Partition, record.Context.Offset, record.Value, record.Context.LeaseEpoch);
        }
    }
}

/// <summary>Records each record after 5 ms of simulated work, so that processing intervals are long enough to overlap if ownership ever did.</summary>
public sealed class SlowRecordingProcessor(RecordLog log) : IRecordProcessor<string, string>
{
    public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        using (log.Enter(record.Context.Partition))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), CancellationToken.None);
            log.Add(record.Context.Partition, record.Context.Offset, record.Value);
        }
    }
}
