using System.Globalization;
using System.Text.RegularExpressions;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>The chaos harness's short form, run as a user runs it: the benchmark program as a process.</summary>
[Trait("Category", "Kafka")]
public sealed partial class ChaosTests
{
    [Fact]
    public async Task ChaosHarness_KillThenFreezeLongerThanALease_NothingLost_NoOverlap_NoReorder()
    {
        // Two rounds: a SIGKILL, then a 5 s SIGSTOP (more than a 2 s lease), under steady production.
        var (results, output) = await RunAsync("--mode", "mixed", "--rounds", "2", "--records", "6000", "--freeze-seconds", "5", "--seed", "8");

        Assert.Equal(6000, results["chaos.produced"]);
        Assert.Equal(0, results["chaos.lost"]);
        Assert.Equal(0, results["chaos.overlaps"]);
        Assert.Equal(0, results["chaos.order_violations"]);
        Assert.True(results["chaos.max_gap_s"] <= 10, $"a partition went {results["chaos.max_gap_s"]} s without processing:{Environment.NewLine}{output}");
    }

    [Fact]
    public async Task ChaosHarness_StreamSubscribers_FreezesLongerThanALease_NoCallRunsAgainAfterALaterOneOfItsKey()
    {
        // The stream form: each record a call to its key's subscriber grain, which may live on the
        // frozen silo. Calls queued there ran after the thaw (the cluster had meanwhile sent them
        // to new activations elsewhere): a key's record again after its next one, or under an
        // older lease after the new owner began.
        var (results, _) = await RunAsync("--mode", "freeze", "--form", "stream", "--rounds", "2", "--records", "15000", "--freeze-seconds", "5", "--seed", "7");

        Assert.Equal(15000, results["chaos.produced"]);
        Assert.Equal(0, results["chaos.lost"]);
        Assert.Equal(0, results["chaos.overlaps"]);
        Assert.Equal(0, results["chaos.order_violations"]);
    }

    /// <summary>Runs <c>bench -- chaos</c> with <paramref name="arguments"/> as a process; asserts it exited 0 and returns its results.</summary>
    private static async Task<(Dictionary<string, double> Results, string Output)> RunAsync(params string[] arguments)
    {
        await using var chaos = ChildProcess.Start("chaos", "dotnet", [BenchProgram.Assembly(), "chaos", .. arguments]);

        var exitCode = await chaos.WaitForExitAsync(TimeSpan.FromMinutes(3));

        var output = string.Join('\n', chaos.Output);
        Assert.True(exitCode == 0, $"the chaos run exited with {exitCode}:{Environment.NewLine}{output}");
        return (ResultLine().Matches(output).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)), output);
    }

    [GeneratedRegex(@"^result (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}
