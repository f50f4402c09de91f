using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Telemetry;

/// <summary>
/// One partition grain's telemetry: its instruments' tags, built once, and its <c>process</c>
/// spans, which continue the W3C trace context (<c>traceparent</c>, <c>tracestate</c>) found in
/// a record's headers, or for a batch link to each record's context.
/// </summary>
internal sealed class PartitionTelemetry(ProcessingMetrics metrics, string group, string topic, int partition)
{
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    private readonly TagList _tags = Tags(group, topic, partition);
    private readonly string _spanName = $"process {topic}";

    public static TagList Tags(string group, string topic, int partition) => new()
    {
        { "messaging.system", "kafka" },
        { "messaging.destination.name", topic },
        { "messaging.destination.partition.id", partition.ToString(CultureInfo.InvariantCulture) },
        { "messaging.consumer.group.name", group },
    };

    /// <summary>A span for <c>records[index..index+count)</c> if anyone listens, else null (and no header is read).</summary>
    public Activity? StartProcess(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count)
    {
        var source = ProcessingMetrics.Source;
        if (!source.HasListeners())
        {
            return null;
        }

        ActivityContext parent = default;
        List<ActivityLink>? links = null;
        if (count == 1)
        {
            TryContext(records[index], out parent);
        }
        else
        {
            for (var i = index; i < index + count; i++)
            {
                if (TryContext(records[i], out var context))
                {
                    (links ??= []).Add(new ActivityLink(context));
                }
            }
        }

        var activity = source.StartActivity(_spanName, ActivityKind.Consumer, parent, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            foreach (var tag in _tags)
            {
                activity.SetTag(tag.Key, tag.Value);
            }

            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.operation.name", "process");
            if (count == 1)
            {
                activity.SetTag("messaging.kafka.offset", records[index].Offset.Value);
            }
            else
            {
                activity.SetTag("messaging.batch.message_count", count);
            }
        }

        return activity;
    }

    /// <summary>A unit of <paramref name="count"/> records left the processor, after retries, at <paramref name="startedAt"/> plus its duration.</summary>
    public void Completed(int count, long startedAt, Exception? error, Activity? activity)
    {
        var tags = _tags;
        if (error is not null)
        {
            var type = error.GetType().FullName;
            tags.Add("error.type", type);
            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            activity?.SetTag("error.type", type);
        }

        metrics.Consumed.Add(count, tags);
        metrics.ProcessDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
    }

    public void Retried() => metrics.Retries.Add(1, _tags);

    public void Skipped() => metrics.Skipped.Add(1, _tags);

    public void DeadLettered() => metrics.DeadLettered.Add(1, _tags);

    public void Held() => metrics.Held.Add(1, _tags);

    private static bool TryContext(ConsumeResult<byte[], byte[]> record, out ActivityContext context)
    {
        context = default;
        var headers = record.Message.Headers;
        if (headers is null || !headers.TryGetLastBytes(TraceParentHeader, out var parent))
        {
            return false;
        }

        var state = headers.TryGetLastBytes(TraceStateHeader, out var stateBytes) ? Encoding.ASCII.GetString(stateBytes) : null;
        return ActivityContext.TryParse(Encoding.ASCII.GetString(parent), state, isRemote: true, out context);
    }
}
