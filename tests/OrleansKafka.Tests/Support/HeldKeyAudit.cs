using System.Globalization;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Support;

/// <summary>
/// Silo processes running only the host's <c>audit</c> processor in key order with
/// <c>OnFailure = HoldKey</c>, one key failing while its <c>fail-&lt;key&gt;</c> file exists, and
/// the end events the audit processor writes, read back.
/// </summary>
internal static class HeldKeyAudit
{
    /// <summary>One silo's settings, the topic (one partition) created by the embedded Kafka.</summary>
    public static SiloProcessClusterOptions Options(string topic, string group, string directory, string failingKey, int maxAttempts)
    {
        var options = new SiloProcessClusterOptions { Silos = 1 };
        options.Topics[topic] = 1;
        foreach (var (name, value) in AuditOnly.Settings(topic, group, directory))
        {
            options.Settings[name] = value;
        }

        options.Settings["Kafka__Processors__audit__Order"] = "Key";
        options.Settings["Kafka__Processors__audit__OnFailure"] = "HoldKey";
        options.Settings["Kafka__Processors__audit__MaxAttempts"] = maxAttempts.ToString(CultureInfo.InvariantCulture);
        options.Settings["Audit__FailKeys"] = failingKey;

        return options;
    }

    /// <summary>The end events of the event files in <paramref name="directory"/> that <paramref name="which"/> takes (all when null), in the order each file has them.</summary>
    public static List<(string Key, long Offset)> Ended(string directory, Func<string, bool>? which = null) =>
        [.. Directory.EnumerateFiles(directory, "*.events").Where(f => which?.Invoke(f) ?? true).Order(StringComparer.Ordinal)
            .SelectMany(f => { using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); using var reader = new StreamReader(stream); return reader.ReadToEnd().Split('\n'); })
            .Select(line => line.Split(' '))
            .Where(parts => parts.Length >= 5 && parts[0] == "E")
            .Select(parts => (parts[4], long.Parse(parts[3], CultureInfo.InvariantCulture)))];
}
