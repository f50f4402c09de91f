using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// A checking processor for the chaos harness (<c>bench -- chaos</c>): for each record it writes a
/// start event before and an end event after, with the partition, offset, key, silo, lease epoch
/// and a monotonic timestamp, so that lost, repeated, reordered or overlapping processing can be
/// found afterwards from the events of every silo.
/// </summary>
/// <remarks>
/// Line format: <c>S|E &lt;group&gt; &lt;partition&gt; &lt;offset&gt; &lt;key&gt; &lt;silo&gt; &lt;epoch&gt; &lt;timestamp&gt;</c>;
/// the key is its UTF-8 text, or <c>-</c> when the record has none.
/// </remarks>
internal sealed class AuditProcessor(AuditLog log, ILocalSiloDetails silo) : IRecordProcessor<byte[], byte[]>
{
    private readonly string _silo = silo.SiloAddress.Endpoint.ToString();

    public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        var context = record.Context;
        var key = record.Key is null ? "-" : Encoding.UTF8.GetString(record.Key);
        log.Write(Line('S', context, key));

        // A millisecond of work that is not cancelled, like a side effect already under way, so
        // that a freeze can land inside a record and a stale owner would show as overlapping.
        await Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None);
        log.Write(Line('E', context, key));
    }

    // Stopwatch.GetTimestamp is CLOCK_MONOTONIC in nanoseconds on Linux: one clock for every
    // process on the machine, so the harness can order the events of different silos (and its
    // producer's) on one time line, unaffected by wall-clock adjustments.
    private string Line(char kind, RecordContext context, string key) =>
        string.Create(CultureInfo.InvariantCulture, $"{kind} {context.ConsumerGroup} {context.Partition} {context.Offset} {key} {_silo} {context.LeaseEpoch} {Stopwatch.GetTimestamp()}");
}
