namespace OrleansKafka.Leases;

/// <summary>
/// Measures what one partition costs this silo: the deliveries' processing time and records (from
/// the feed) and, at each heartbeat, the high watermark and the offset processed, smoothed over
/// about <see cref="Smoothing"/>.
/// </summary>
/// <remarks>
/// The cost is seconds per record × (records arriving a second + lag / <see cref="CatchUpWindow"/>):
/// what the partition needs to keep up and to clear its lag within a minute, in busy seconds a
/// second. Seconds per record is a delivery's time from being sent to its grain to its answer, so
/// it includes waiting for what the processor waits on (I/O, a busy silo); it is the time a
/// partition keeps its serial processing busy, which is what placement spreads.
/// </remarks>
internal sealed class PartitionLoadMeter(TimeProvider time)
{
    /// <summary>The time constant of the smoothing: a change shows about two thirds after this long.</summary>
    public static readonly TimeSpan Smoothing = TimeSpan.FromSeconds(10);

    /// <summary>How soon the cost asks for a partition's lag to be cleared.</summary>
    public static readonly TimeSpan CatchUpWindow = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private long _records;
    private long _busyTicks;
    private long _sampledAt;
    private long _sampledHigh = -1;
    private double _recordsPerSecond;
    private double _inflowPerSecond;
    private double _secondsPerRecord = double.NaN;
    private bool _smoothing;

    /// <summary>The cost the last <see cref="Sample"/> returned; null before one returned any.</summary>
    public double? LastCost { get; private set; }

    /// <summary>A delivery of <paramref name="records"/> records was processed in <paramref name="busy"/>.</summary>
    public void Delivered(int records, TimeSpan busy)
    {
        lock (_gate)
        {
            _records += records;
            _busyTicks += busy.Ticks;
        }
    }

    /// <summary>
    /// Takes the figures since the last sample into the smoothed ones and returns the cost; null
    /// before a second sample or while nothing was ever processed and records wait (the cost is
    /// unknown then). Called at each heartbeat.
    /// </summary>
    /// <param name="highWatermark">The partition's high watermark as last fetched; -1 when unknown.</param>
    /// <param name="nextOffset">The next offset to process; -1 when unknown.</param>
    public (double Cost, double RecordsPerSecond, long Lag)? Sample(long highWatermark, long nextOffset)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            var lag = highWatermark >= 0 && nextOffset >= 0 ? Math.Max(0, highWatermark - nextOffset) : 0;
            if (_sampledAt == 0)
            {
                (_sampledAt, _sampledHigh, _records, _busyTicks) = (now, highWatermark, 0, 0);
                return null;
            }

            var seconds = time.GetElapsedTime(_sampledAt, now).TotalSeconds;
            if (seconds <= 0)
            {
                return Figures(lag);
            }

            if (_records == 0 && lag > 0 && !double.IsNaN(_secondsPerRecord))
            {
                // Records wait and none was processed: the partition is stopped (paused, holding, a
                // slow call). Its lag is no demand another silo could serve: its cost stays as it was.
                (_sampledAt, _sampledHigh) = (now, highWatermark);
                return LastCost is { } last ? (last, _recordsPerSecond, lag) : null;
            }

            var records = _records / seconds;
            var inflow = highWatermark >= 0 && _sampledHigh >= 0 ? Math.Max(0, highWatermark - _sampledHigh) / seconds : 0;
            if (_records > 0)
            {
                var perRecord = TimeSpan.FromTicks(_busyTicks).TotalSeconds / _records;
                _secondsPerRecord = double.IsNaN(_secondsPerRecord) ? perRecord : Smooth(_secondsPerRecord, perRecord, seconds);
            }

            // The first window sets the figures; later ones move them by their share of the smoothing time.
            (_recordsPerSecond, _inflowPerSecond) = _smoothing
                ? (Smooth(_recordsPerSecond, records, seconds), Smooth(_inflowPerSecond, inflow, seconds))
                : (records, inflow);
            _smoothing = true;
            (_sampledAt, _sampledHigh, _records, _busyTicks) = (now, highWatermark, 0, 0);
            return Figures(lag);
        }
    }

    private (double Cost, double RecordsPerSecond, long Lag)? Figures(long lag)
    {
        if (double.IsNaN(_secondsPerRecord))
        {
            // Nothing processed yet: an idle partition costs nothing; one with records waiting is unknown.
            LastCost = lag == 0 && _inflowPerSecond == 0 ? 0 : null;
            return LastCost is null ? null : (0, 0, 0);
        }

        var demand = _inflowPerSecond + (lag / CatchUpWindow.TotalSeconds);
        LastCost = _secondsPerRecord * demand;
        return (LastCost.Value, _recordsPerSecond, lag);
    }

    private static double Smooth(double previous, double sample, double seconds)
    {
        var weight = 1 - Math.Exp(-seconds / Smoothing.TotalSeconds);
        return previous + (weight * (sample - previous));
    }
}
