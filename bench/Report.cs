using System.Diagnostics;
using System.Globalization;

namespace OrleansKafka.Bench;

internal static class Report
{
    public static void Result(string name, double value) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"result {name} {value:0.###}"));

    public static void Note(string text) => Console.Error.WriteLine($"# {text}");

    /// <summary>Peak resident set size of this process, from the kernel's high-water mark.</summary>
    public static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return -1;
    }

    public static double RssMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }

    public static int Threads()
    {
        using var process = Process.GetCurrentProcess();
        return process.Threads.Count;
    }
}
