using System.Text.RegularExpressions;

namespace OrleansKafka.Testing.Processes;

/// <summary>A throwaway Redis server (Debian's <c>redis-server</c>) on a free loopback port, with no persistence.</summary>
public sealed partial class RedisServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis connection string for it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Starts the server and waits until it accepts connections.</summary>
    public static async Task<RedisServer> StartAsync()
    {
        var port = LoopbackPorts.Free(1)[0];
        var process = ChildProcess.Start(
            "redis-server",
            "redis-server",
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        await process.WaitForOutputAsync(ReadyLine(), TimeSpan.FromSeconds(20));
        return new RedisServer(process, port);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [GeneratedRegex("Ready to accept connections")]
    private static partial Regex ReadyLine();
}
