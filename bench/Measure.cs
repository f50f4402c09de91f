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

    public void Stop(string name, long records)
    {
        _wall.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpu;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocated;
        Report.Result($"{name}.records_per_s", records / _wall.Elapsed.TotalSeconds);
        Report.Result($"{name}.cpu_us_per_record", cpu.TotalMicroseconds / records);
        Report.Result($"{name}.alloc_bytes_per_record", (double)allocated / records);
        Report.Note($"{name}: garbage collections gen0 {GC.CollectionCount(0) - _gen0}, gen1 {GC.CollectionCount(1) - _gen1}, gen2 {GC.CollectionCount(2) - _gen2}");
    }
}
