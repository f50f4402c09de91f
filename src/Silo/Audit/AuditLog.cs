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
    private FileStream? _file;

    /// <summary>Appends one line; it has reached the operating system when this returns.</summary>
    public void Write(string line)
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
