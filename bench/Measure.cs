using System.Diagnostics;

namespace OrleansKafka.Bench;

/// <summary>Wall time, CPU time and managed allocation of one measured stretch.</summary>
internal sealed class Measure
{
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: false);

    public TimeSpan Elapsed => _wall.Elapsed;

    public void Stop(string name, long records)
    {
        _wall.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpu;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocated;
        Report.Result($"{name}.records_per_s", records / _wall.Elapsed.TotalSeconds);
        Report.Result($"{name}.cpu_us_per_record", cpu.TotalMicroseconds / records);
        Report.Result($"{name}.alloc_bytes_per_record", (double)allocated / records);
    }
}
