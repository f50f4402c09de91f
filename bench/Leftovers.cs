using System.Diagnostics;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench;

/// <summary>
/// The check every benchmark ends with: no process it started may still run. Silos, Kafka or
/// Redis left behind by one run took half a core from every later run on this machine.
/// </summary>
internal static class Leftovers
{
    /// <summary>Kills what this run left running and says so; returns whether anything was left.</summary>
    public static bool StopAndReport()
    {
        var left = ChildProcess.RunningChildren();
        if (left.Count == 0)
        {
            return false;
        }

        Console.Error.WriteLine($"bench: {left.Count} processes this run started were still running at its end (a defect of the benchmark; killed now):");
        foreach (var (id, commandLine) in left)
        {
            Console.Error.WriteLine($"  {id} {commandLine}");
            try
            {
                using var running = Process.GetProcessById(id);
                running.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Ended meanwhile.
            }
        }

        return true;
    }
}
