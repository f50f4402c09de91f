using System.Diagnostics;

namespace OrleansKafka.Bench;

/// <summary>Wall time, CPU time and managed allocation of one measured stretch.</summary>
internal sealed class Measure
{
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: false);
    private readonly int _gen0 = GC.CollectionCount(0);
    private readonly int _gen1 = GC.CollectionCount(1);
    private readonly int _gen2 = GC.CollectionCount(2);

    public TimeSpan Elapsed => _wall.Elapsed;

    /// <summary>
    /// The process's CPU time a second over <paramref name="window"/> with nothing to process: the
    /// silos' heartbeats, lease renewals, metrics and empty fetches (on the embedded Kafka, in this
    /// process, every 5 ms per fetch consumer).
    /// </summary>
    public static async Task<double> IdleCpuAsync(TimeSpan window)
    {
        var start = new Measure();
        await Task.Delay(window);
        return (Process.GetCurrentProcess().TotalProcessorTime - start._cpu).TotalSeconds / start.Elapsed.TotalSeconds;
    }

    /// <summary>Reports records/s, CPU and bytes allocated a record under <c>name.*</c>.</summary>
    /// <param name="name">The figures' prefix.</param>
    /// <param name="records">The records processed in the stretch.</param>
    /// <param name="idleCpu">When given (<see cref="IdleCpuAsync"/>), also reports the CPU a record above that idle rate.</param>
    public void Stop(string name, long records, double? idleCpu = null)
    {
        _wall.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpu;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocated;
        Report.Result($"{name}.records_per_s", records / _wall.Elapsed.TotalSeconds);
        Report.Result($"{name}.cpu_us_per_record", cpu.TotalMicroseconds / records);
        if (idleCpu is { } idle)
        {
            Report.Result($"{name}.cpu_us_per_record_above_idle", (cpu.TotalMicroseconds - (idle * _wall.Elapsed.TotalMicroseconds)) / records);
            Report.Note($"{name}: idle CPU before the records {idle:0.000} cores");
        }

        Report.Result($"{name}.alloc_bytes_per_record", (double)allocated / records);
        Report.Note($"{name}: garbage collections gen0 {GC.CollectionCount(0) - _gen0}, gen1 {GC.CollectionCount(1) - _gen1}, gen2 {GC.CollectionCount(2) - _gen2}");
    }
}
