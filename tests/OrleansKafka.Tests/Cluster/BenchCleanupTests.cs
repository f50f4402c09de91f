using System.Diagnostics;
using System.Text.RegularExpressions;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>A benchmark that is killed takes the cluster it started with it.</summary>
[Trait("Category", "Kafka")]
public sealed partial class BenchCleanupTests
{
    [Fact]
    public async Task ABenchmarkKilledWithSigkill_LeavesNoSiloKafkaOrRedisRunning()
    {
        // Seen twice before the fix: a benchmark gone, its Redis, Kafka and three silos still
        // running half an hour later and slowing every later run.
        await using var bench = ChildProcess.Start("bench", "dotnet", [BenchProgram.Assembly(), "chaos", "--mode", "kill", "--rounds", "1", "--records", "3000", "--seed", "1"]);
        await bench.WaitForOutputAsync(RoundLine(), TimeSpan.FromMinutes(2));
        var started = ChildProcess.RunningChildren(bench.Id);
        Assert.True(started.Count >= 5, $"expected Redis, Kafka and three silos under the benchmark, found: {string.Join("; ", started)}");

        using (var process = Process.GetProcessById(bench.Id))
        {
            process.Kill(entireProcessTree: false);
        }

        var gone = await Poll.UntilAsync(() => started.All(p => !IsRunning(p.Id)), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.True(gone, $"still running 15 s after the benchmark was killed: {string.Join("; ", started.Where(p => IsRunning(p.Id)))}");
    }

    /// <summary>Running and not a zombie (a killed child waits for its parent's reaper, here init).</summary>
    private static bool IsRunning(int id)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{id}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [GeneratedRegex("round 1")]
    private static partial Regex RoundLine();
}
