using System.Diagnostics;
using System.Globalization;

namespace OrleansKafka.Bench;

/// <summary>
/// librdkafka's own C client on the same brokers: Debian's <c>kcat</c> consuming every partition
/// of a topic from its beginning to its end, printing one byte per record into a counter. The
/// physical limit the .NET consumers and the product are measured against
/// (<c>throughput.ratio_to_c</c>): it allocates nothing per record and crosses no interop.
/// </summary>
internal static class CClient
{
    /// <summary>Records/s from kcat's start to its exit (its start-up included, a few ms); null when kcat is not installed.</summary>
    public static async Task<double?> ConsumeAllAsync(string bootstrap, string topic, long records)
    {
        if (!Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, "kcat"))))
        {
            Report.Note("kcat is not installed (Debian: apt-get install -y kcat): throughput.ratio_to_c not measured");
            return null;
        }

        // The raw .NET patterns' fetch settings, so that only the client differs. Without a group
        // kcat assigns every partition itself; -e exits at the end of the last one.
        var settings = BenchKafka.FetchSettings.SelectMany(s => new[] { "-X", $"{s.Key}={s.Value}" });
        var kcat = string.Join(' ', new[] { "kcat", "-C", "-q", "-e", "-b", bootstrap, "-t", topic, "-o", "beginning", "-f", "x" }.Concat(settings));
        var info = new ProcessStartInfo("sh", ["-c", $"exec {kcat} | wc -c"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("kcat did not start.");
        var counted = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = clock.Elapsed;
        if (process.ExitCode != 0 || !long.TryParse(counted.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seen) || seen != records)
        {
            Report.Note($"kcat read {counted.Trim()} of {records} records (exit code {process.ExitCode}): throughput.ratio_to_c not measured. {errors}");
            return null;
        }

        var rate = records / elapsed.TotalSeconds;
        Report.Result("c_client.records_per_s", rate);
        return rate;
    }
}
