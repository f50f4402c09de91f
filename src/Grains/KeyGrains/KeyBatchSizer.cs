namespace OrleansKafka.KeyGrains;

/// <summary>
/// How many records of one key a partition sends its grain in one call (<see cref="KeyedBatches"/>):
/// up to <see cref="MaxRecords"/> while the grain's calls take less than <see cref="SlowRecord"/>
/// a record on average, for such a grain's work costs less than the call; one at a time once
/// they take longer, where the call's cost no longer matters and a batch would hold the grain's
/// turn (and near the call timeout) for the sum of its records.
/// </summary>
internal sealed class KeyBatchSizer(TimeProvider time)
{
    public const int MaxRecords = 32;

    public static readonly TimeSpan SlowRecord = TimeSpan.FromMilliseconds(10);

    // A moving average of the time per record, in ticks; racy updates from concurrent calls of
    // one partition lose a sample at worst.
    private double _averageTicks;

    /// <summary>The most records of one key to send in one call now.</summary>
    public int Limit => Volatile.Read(ref _averageTicks) < SlowRecord.Ticks ? MaxRecords : 1;

    /// <summary>The clock's timestamp for a call that starts now.</summary>
    public long Start() => time.GetTimestamp();

    /// <summary>A call that began at <paramref name="startedAt"/> has returned, for <paramref name="records"/> records.</summary>
    public void Observe(long startedAt, int records)
    {
        var perRecord = (double)time.GetElapsedTime(startedAt).Ticks / Math.Max(records, 1);
        var average = Volatile.Read(ref _averageTicks);
        Volatile.Write(ref _averageTicks, average == 0 ? perRecord : (average * 0.9) + (perRecord * 0.1));
    }
}
