using System.Diagnostics;
using System.Text.RegularExpressions;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Support;

/// <summary>
/// The README's silo (<c>src/Silo</c> with its shipped settings: localhost clustering, the
/// embedded Kafka, demo traffic) as a process on free loopback ports, for tests that use it the
/// way a user does.
/// </summary>
public sealed partial class SiloHost : IAsyncDisposable
{
    private SiloHost(ChildProcess process, int[] ports, string bootstrapServers)
    {
        Process = process;
        SiloPort = ports[0];
        GatewayPort = ports[1];
        WebPort = ports[2];
        BootstrapServers = bootstrapServers;
    }

    public ChildProcess Process { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int WebPort { get; }

    /// <summary>The embedded Kafka's bootstrap servers, as the silo logged them.</summary>
    public string BootstrapServers { get; }

    public string Gateway => $"127.0.0.1:{GatewayPort}";

    public string WebRoot => $"http://127.0.0.1:{WebPort}";

    /// <summary>Starts the silo with <paramref name="settings"/> over its own (environment variables) and waits until it serves.</summary>
    /// <remarks>With <paramref name="bootstrapFromLog"/> false (a silo given <c>Kafka__BootstrapServers</c>), no embedded Kafka is awaited.</remarks>
    public static async Task<SiloHost> StartAsync(IReadOnlyDictionary<string, string>? settings = null, string webHost = "127.0.0.1", bool bootstrapFromLog = true)
    {
        var ports = LoopbackPorts.Free(3);
        var environment = new Dictionary<string, string>
        {
            ["Silo__SiloPort"] = $"{ports[0]}",
            ["Silo__GatewayPort"] = $"{ports[1]}",
            ["Dashboard__Urls"] = $"http://{webHost}:{ports[2]}",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = ChildProcess.Start("silo", "dotnet", [SiloHostAssembly.Locate()], environment);
        try
        {
            var bootstrap = bootstrapFromLog
                ? (await process.WaitForOutputAsync(BootstrapLine(), TimeSpan.FromSeconds(60))).Groups[1].Value
                : environment["Kafka__BootstrapServers"];
            await process.WaitForOutputAsync(StartedLine(), TimeSpan.FromSeconds(60));
            return new SiloHost(process, ports, bootstrap);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Produces <c>key:value</c> lines to one partition with Debian's kcat, another process; each of <paramref name="headers"/> (<c>name=value</c>) on every record.</summary>
    public async Task ProduceWithKcatAsync(string topic, int partition, IEnumerable<string> keyValueLines, IEnumerable<string>? headers = null)
    {
        string[] arguments = ["-P", "-b", BootstrapServers, "-t", topic, "-p", $"{partition}", "-K", ":", .. (headers ?? []).SelectMany(h => new[] { "-H", h })];
        using var kcat = System.Diagnostics.Process.Start(new ProcessStartInfo("kcat", arguments)
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("kcat did not start");
        foreach (var line in keyValueLines)
        {
            await kcat.StandardInput.WriteLineAsync(line);
        }

        kcat.StandardInput.Close();
        await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    [GeneratedRegex("bootstrap servers: ([^;]+);")]
    private static partial Regex BootstrapLine();

    [GeneratedRegex("Application started")]
    private static partial Regex StartedLine();
}
