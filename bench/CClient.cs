using System.Diagnostics;
using System.Globalization;

namespace OrleansKafka.Bench;

/// <summary>
/// librdkafka's own C client on the same brokers: Debian's <c>kcat</c>, one process per
/// partition, consuming it from its beginning to its end and printing one byte per record into a
/// counter. The physical limit the .NET consumers and the product are measured against
/// (<c>throughput.ratio_to_c</c>): it allocates nothing per record and crosses no interop.
/// </summary>
internal static class CClient
{
    /// <summary>
    /// Records/s from the kcats' start to the last one's exit (their start-up included, a few ms);
    /// null when kcat is not installed or did not read every record.
    /// </summary>
    public static async Task<double?> ConsumeAllAsync(string bootstrap, string topic, int partitions, long records)
    {
        if (!Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, "kcat"))))
        {
            Report.Note("kcat is not installed (Debian: apt-get install -y kcat): throughput.ratio_to_c not measured");
            return null;
        }

        // One kcat per partition, as the fastest raw .NET pattern runs a consumer per partition;
        // the raw patterns' fetch settings but the 5 ms fetch wait the silo gives consumers on the
        // embedded brokers (which hold every fetch for the whole wait): the C client at its best.
        var settings = BenchKafka.FetchSettings.Select(s => s.Key == "fetch.wait.max.ms" ? "fetch.wait.max.ms=5" : $"{s.Key}={s.Value}").SelectMany(s => new[] { "-X", s });
        var clock = Stopwatch.StartNew();
        var counts = await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => ConsumePartitionAsync(bootstrap, topic, p, settings)));
        var elapsed = clock.Elapsed;
        if (counts.Any(c => c is null) || counts.Sum() != records)
        {
            Report.Note($"kcat read {counts.Sum()} of {records} records: throughput.ratio_to_c not measured");
            return null;
        }

        var rate = records / elapsed.TotalSeconds;
        Report.Result("c_client.records_per_s", rate);
        return rate;
    }

    /// <summary>kcat reading one partition from its beginning to its end, one byte per record into a counter; null when it failed.</summary>
    private static async Task<long?> ConsumePartitionAsync(string bootstrap, string topic, int partition, IEnumerable<string> settings)
    {
        var kcat = string.Join(' ', new[] { "kcat", "-C", "-q", "-e", "-b", bootstrap, "-t", topic, "-p", partition.ToString(CultureInfo.InvariantCulture), "-o", "beginning", "-f", "x" }.Concat(settings));
        var info = new ProcessStartInfo("sh", ["-c", $"exec {kcat} | wc -c"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("kcat did not start.");
        var errors = process.StandardError.ReadToEndAsync();
        var counted = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode == 0 && long.TryParse(counted.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seen))
        {
            return seen;
        }

        Report.Note($"kcat on partition {partition} exited with {process.ExitCode}: {await errors}");
        return null;
    }
}
