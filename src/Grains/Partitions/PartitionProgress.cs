using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>
/// What a partition's status tells of its processing: records processed, skipped and
/// dead-lettered, the record in flight and since when, the last error, the retry under way, and
/// the rate over about the last ten seconds.
/// </summary>
/// <remarks>Used only inside the partition grain's turns, so it needs no lock.</remarks>
internal sealed class PartitionProgress(TimeProvider time)
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SampleWindow = TimeSpan.FromSeconds(10);
    private readonly Queue<(long At, long Processed)> _samples = new();

    public long Processed { get; private set; }

    public long Skipped { get; private set; }

    public long DeadLettered { get; private set; }

    /// <summary>The offset of the record running (in key order, the one started last); -1 when none runs.</summary>
    public long InFlightOffset { get; private set; } = -1;

    public DateTimeOffset? InFlightSince { get; private set; }

    /// <summary>The attempt of the retry under way; 0 when none is.</summary>
    public int RetryAttempt { get; private set; }

    /// <summary>The last error, as type and message.</summary>
    public string? LastError { get; private set; }

    public DateTimeOffset? LastErrorAt { get; private set; }

    /// <summary>A unit starting at <paramref name="offset"/> runs.</summary>
    public void Started(long offset)
    {
        InFlightOffset = offset;
        InFlightSince = time.GetUtcNow();
    }

    /// <summary>An attempt failed; <paramref name="attempt"/> counts from 1.</summary>
    public void Failed(Exception error, int attempt)
    {
        RetryAttempt = attempt;
        LastError = new RecordFailure(error, attempt).Describe();
        LastErrorAt = time.GetUtcNow();
    }

    /// <summary>A unit ended, done or given up: no retry is under way.</summary>
    public void Ended() => RetryAttempt = 0;

    /// <summary><paramref name="count"/> records are done (processed, skipped or dead-lettered).</summary>
    public void Completed(int count) => Processed += count;

    public void CountSkipped() => Skipped++;

    public void CountDeadLettered() => DeadLettered++;

    /// <summary>A delivery ended: nothing runs.</summary>
    public void Idle()
    {
        InFlightOffset = -1;
        InFlightSince = null;
    }

    /// <summary>Notes the processed count at most once a second, keeping ten seconds of notes: the basis of <see cref="RecordsPerSecond"/>.</summary>
    public void Sample()
    {
        var now = time.GetTimestamp();
        if (_samples.Count == 0 || time.GetElapsedTime(_samples.Last().At, now) >= SampleEvery)
        {
            _samples.Enqueue((now, Processed));
        }

        while (_samples.Count > 1 && time.GetElapsedTime(_samples.Peek().At, now) > SampleWindow)
        {
            _samples.Dequeue();
        }
    }

    /// <summary>Records processed a second since the oldest note (at most about ten seconds ago); 0 with less than half a second to go by.</summary>
    public double RecordsPerSecond()
    {
        Sample();
        var (at, processed) = _samples.Peek();
        var seconds = time.GetElapsedTime(at).TotalSeconds;
        return seconds < 0.5 ? 0 : (Processed - processed) / seconds;
    }
}
