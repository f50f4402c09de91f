using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// The append-only event file of this silo process, <c>&lt;Audit:Directory&gt;/&lt;endpoint&gt;-&lt;pid&gt;.events</c>,
/// one line per event. Opened at the first event, so a silo that does not run the audit
/// processor creates no file and needs no directory.
/// </summary>
internal sealed partial class AuditLog(IOptions<AuditOptions> options, ILocalSiloDetails silo, ILogger<AuditLog> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly string _silo = silo.SiloAddress.Endpoint.ToString();
    private FileStream? _file;

    /// <summary>
    /// Appends one event: <c>S|E &lt;group&gt; &lt;partition&gt; &lt;offset&gt; &lt;key&gt; &lt;silo&gt; &lt;epoch&gt; &lt;timestamp&gt; [&lt;state&gt;]</c>,
    /// the key as its UTF-8 text (<c>-</c> when the record has none), the timestamp from
    /// <see cref="Stopwatch.GetTimestamp"/>, and for the stateful forms the state after the record.
    /// </summary>
    /// <remarks>
    /// Stopwatch.GetTimestamp is CLOCK_MONOTONIC in nanoseconds on Linux: one clock for every
    /// process on the machine, so the harness can order the events of different silos (and its
    /// producer's) on one time line, unaffected by wall-clock adjustments.
    /// </remarks>
    public void Event(char kind, string group, int partition, long offset, string key, long epoch, string? state = null) =>
        Write(string.Create(
            CultureInfo.InvariantCulture,
            $"{kind} {group} {partition} {offset} {key} {_silo} {epoch} {Stopwatch.GetTimestamp()}{(state is null ? string.Empty : " " + state)}"));

    /// <summary>A record key as the events show it: its UTF-8 text, <c>-</c> when it has none.</summary>
    public static string KeyText(byte[]? key) => key is null ? "-" : Encoding.UTF8.GetString(key);

    /// <summary>
    /// A millisecond of work that is not cancelled, like a side effect already under way, so that
    /// a freeze can land inside a record and a stale owner would show as overlapping.
    /// </summary>
    public static Task WorkAsync() => Task.Delay(TimeSpan.FromMilliseconds(1), CancellationToken.None);

    /// <summary>A start event, a millisecond of <see cref="WorkAsync"/>, an end event: the checking forms without state.</summary>
    public async Task AuditAsync(string group, int partition, long offset, string key, long epoch)
    {
        Event('S', group, partition, offset, key, epoch);
        await WorkAsync();
        Event('E', group, partition, offset, key, epoch);
    }

    /// <summary>Whether the processor is to fail on a record of <paramref name="key"/> now (<see cref="AuditOptions.FailKeys"/>).</summary>
    public bool Fails(string key) =>
        options.Value.FailKeys is { Length: > 0 } keys
        && keys.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Contains(key, StringComparer.Ordinal)
        && File.Exists(Path.Combine(options.Value.Directory ?? string.Empty, "fail-" + key));

    /// <summary>Appends one line; it has reached the operating system when this returns.</summary>
    private void Write(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (_lock)
        {
            _file ??= Open();
            _file.Write(bytes);

            // To the OS, not to the disk: a SIGKILLed process then loses no line it wrote, and
            // the chaos harness kills processes, not the machine, so no fsync is needed.
            _file.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    private FileStream Open()
    {
        var directory = options.Value.Directory;
        if (string.IsNullOrWhiteSpace(directory))
        {
            throw new InvalidOperationException(
                "Audit:Directory is empty, but the audit processor is enabled under Kafka:Processors:audit. Set Audit:Directory (environment: Audit__Directory) to a folder for its event files, or disable the processor.");
        }

        Directory.CreateDirectory(directory);

        // The endpoint names the silo in the events; the pid keeps a restarted silo on the same port in a file of its own.
        var name = $"{silo.SiloAddress.Endpoint.ToString().Replace(':', '_')}-{Environment.ProcessId}.events";
        var path = Path.Combine(directory, name);
        var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        LogOpened(logger, path);
        return file;
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Audit events go to {Path}")]
    private static partial void LogOpened(ILogger logger, string path);
}
