using System.Diagnostics;
using System.Diagnostics.Metrics;
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
    private readonly Lock _failuresLock = new();
    private readonly Dictionary<string, long> _failedByType = new(StringComparer.Ordinal);
    private long _consumed;

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
        var duration = Stopwatch.GetElapsedTime(startedAt).TotalSeconds;
        if (error is null)
        {
            Interlocked.Add(ref _consumed, count);
            metrics.ProcessDuration.Record(duration, _tags);
            return;
        }

        var type = error.GetType().FullName ?? error.GetType().Name;
        activity?.SetStatus(ActivityStatusCode.Error, error.Message);
        activity?.SetTag("error.type", type);
        lock (_failuresLock)
        {
            _failedByType[type] = _failedByType.GetValueOrDefault(type) + count;
        }

        var tags = _tags;
        tags.Add("error.type", type);
        metrics.ProcessDuration.Record(duration, tags);
    }

    /// <summary>The cumulative counts of <c>messaging.client.consumed.messages</c>: succeeded, and failed by error type.</summary>
    public IEnumerable<Measurement<long>> ConsumedMeasurements()
    {
        var measurements = new List<Measurement<long>> { new(Interlocked.Read(ref _consumed), _tags) };
        lock (_failuresLock)
        {
            foreach (var (type, count) in _failedByType)
            {
                var tags = _tags;
                tags.Add("error.type", type);
                measurements.Add(new Measurement<long>(count, tags));
            }
        }

        return measurements;
    }

    public void Retried() => metrics.Retries.Add(1, _tags);

    public void Skipped() => metrics.Skipped.Add(1, _tags);

    public void DeadLettered() => metrics.DeadLettered.Add(1, _tags);

    public void Held() => metrics.Held.Add(1, _tags);

    /// <summary>Keys the partition holds (OnFailure HoldKey) and records waiting behind them, as of the last run; read when a reader collects.</summary>
    public void KeysHeld(int keys, int waiting)
    {
        HeldKeyCount = keys;
        RecordsWaiting = waiting;
        ReportedKeys |= keys > 0;
    }

    /// <summary>Whether the partition held a key on this silo (its gauges then go on, at 0 once released).</summary>
    public bool ReportedKeys { get; private set; }

    public int HeldKeyCount { get; private set; }

    public int RecordsWaiting { get; private set; }

    /// <summary>The tags every instrument of this partition carries.</summary>
    public TagList PartitionTags => _tags;

    public (string Group, string Topic, int Partition) Partition { get; } = (group, topic, partition);

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
