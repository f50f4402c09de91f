using OrleansKafka.Processing;

namespace OrleansKafka.Bench;

/// <summary>Does nothing but count, so that the benchmark measures the product's own cost.</summary>
internal sealed class NoopProcessor(Counter counter) : IRecordProcessor<byte[], byte[]>
{
    public ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        counter.Increment();
        counter.Reached(record.Context.Partition, record.Context.Offset);
        return ValueTask.CompletedTask;
    }
}

internal sealed class Counter
{
    private long _count;
    private long _firstAt;
    private Measure? _fromFirst;

    // The next offset to process of each partition, by what the processor last saw: a partition's
    // records reach the processor one at a time, in order (again from an earlier offset when a
    // lease moved or a seek sent it back).
    private readonly long[] _next = new long[1024];

    public long Count => Interlocked.Read(ref _count);

    /// <summary>When the first record was processed (Stopwatch timestamp), 0 before.</summary>
    public long FirstAt => Interlocked.Read(ref _firstAt);

    /// <summary>Wall time, CPU and allocation since the first record was processed.</summary>
    public Measure? FromFirst => Volatile.Read(ref _fromFirst);

    /// <summary>Notes that the processor saw the record at <paramref name="offset"/> of <paramref name="partition"/>.</summary>
    public void Reached(int partition, long offset) => Volatile.Write(ref _next[partition], offset + 1);

    /// <summary>Whether the processor has seen the last record below each partition's high watermark.</summary>
    public bool ReachedAll(long[] high)
    {
        for (var p = 0; p < high.Length; p++)
        {
            if (Volatile.Read(ref _next[p]) < high[p])
            {
                return false;
            }
        }

        return true;
    }

    public void Increment()
    {
        if (Interlocked.Increment(ref _count) == 1)
        {
            Interlocked.Exchange(ref _firstAt, System.Diagnostics.Stopwatch.GetTimestamp());
            Volatile.Write(ref _fromFirst, new Measure());
        }
    }
}
