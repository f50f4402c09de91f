using OrleansKafka.Processing;

namespace OrleansKafka.Bench;

/// <summary>Does nothing but count, so that the benchmark measures the product's own cost.</summary>
internal sealed class NoopProcessor(Counter counter) : IRecordProcessor<byte[], byte[]>
{
    public ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        counter.Increment();
        return ValueTask.CompletedTask;
    }
}

internal sealed class Counter
{
    private long _count;
    private long _firstAt;
    private Measure? _fromFirst;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>When the first record was processed (Stopwatch timestamp), 0 before.</summary>
    public long FirstAt => Interlocked.Read(ref _firstAt);

    /// <summary>Wall time, CPU and allocation since the first record was processed.</summary>
    public Measure? FromFirst => Volatile.Read(ref _fromFirst);

    public void Increment()
    {
        if (Interlocked.Increment(ref _count) == 1)
        {
            Interlocked.Exchange(ref _firstAt, System.Diagnostics.Stopwatch.GetTimestamp());
            Volatile.Write(ref _fromFirst, new Measure());
        }
    }
}
