namespace OrleansKafka.KeyGrains;

/// <summary>
/// How many records of one key a partition sends its grain in one call (<see cref="KeyedBatches"/>):
/// as many as take about <see cref="UnitTime"/> at the grain's measured time a record, from 1 to
/// <see cref="MaxRecords"/>. A fast grain's work costs less than the call, so its records go
/// together; a slow grain's go one at a time, where the call's cost does not matter and a unit
/// would hold the grain's turn (and near the call timeout) for the sum of its records. One at a
/// time until a call has been measured: a new partition activation knows nothing of the grain yet.
/// </summary>
internal sealed class KeyBatchSizer(TimeProvider time)
{
    /// <summary>
    /// The most records of a key in one call. 128 rather than 32 since 2026-12-06: no-op key grains
    /// over 12 partitions of 83 keys each (48 records of a key in a delivery of 4,000) went from
    /// 328-394 K to 334-486 K records/s (median 347 K to 394 K, five runs each; docs/benchmarks.md).
    /// </summary>
    public const int MaxRecords = 128;

    public static readonly TimeSpan UnitTime = TimeSpan.FromMilliseconds(100);

    // A moving average of the time per record, in ticks; racy updates from concurrent calls of
    // one partition lose a sample at worst.
    private double _averageTicks;

    /// <summary>The most records of one key to send in one call now.</summary>
    public int Limit => Volatile.Read(ref _averageTicks) is var average && average <= 0
        ? 1
        : (int)Math.Clamp(UnitTime.Ticks / average, 1, MaxRecords);

    /// <summary>The clock's timestamp for a call that starts now.</summary>
    public long Start() => time.GetTimestamp();

    /// <summary>A call that began at <paramref name="startedAt"/> has ended, answered or not, for <paramref name="records"/> records.</summary>
    public void Observe(long startedAt, int records)
    {
        var perRecord = Math.Max(1, (double)time.GetElapsedTime(startedAt).Ticks / Math.Max(records, 1));
        var average = Volatile.Read(ref _averageTicks);
        Volatile.Write(ref _averageTicks, average <= 0 ? perRecord : (average * 0.9) + (perRecord * 0.1));
    }
}
