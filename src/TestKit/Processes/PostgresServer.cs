namespace OrleansKafka.Testing.Processes;

/// <summary>
/// A throwaway PostgreSQL server on a free loopback port with the Orleans membership tables,
/// started and stopped by the repository's <c>deploy/postgres/postgres.sh</c> (which installs
/// Debian's <c>postgresql</c> if it is missing).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _script;
    private readonly string _directory;

    private PostgresServer(string script, string directory, string connectionString)
    {
        _script = script;
        _directory = directory;
        ConnectionString = connectionString;
    }

    /// <summary>An Npgsql connection string for the <c>orleans</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>Starts the server in a new temporary folder and waits until the membership tables are there.</summary>
    /// <exception cref="InvalidOperationException">The script failed; the message has its output.</exception>
    public static async Task<PostgresServer> StartAsync()
    {
        var script = Path.Combine(SiloHostAssembly.RepositoryRoot(), "deploy", "postgres", "postgres.sh");
        var directory = Directory.CreateTempSubdirectory("orleanskafka-postgres-").FullName;
        var port = LoopbackPorts.Free(1)[0];
        var output = await RunAsync(script, ["start", directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(3));
        return new PostgresServer(script, directory, output.Last(l => l.StartsWith("Host=", StringComparison.Ordinal)));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(_script, ["stop", _directory], TimeSpan.FromSeconds(60));
        }
        finally
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // Left in the temporary folder; it holds nothing of value.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static async Task<IReadOnlyList<string>> RunAsync(string script, string[] arguments, TimeSpan timeout)
    {
        await using var process = ChildProcess.Start("postgres.sh", "bash", [script, .. arguments]);
        var exitCode = await process.WaitForExitAsync(timeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{script} {string.Join(' ', arguments)} exited with {exitCode}:{Environment.NewLine}{process.Tail()}");
        }

        return [.. process.Output];
    }
}
