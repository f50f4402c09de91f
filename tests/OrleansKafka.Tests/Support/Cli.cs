using System.Reflection;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Support;

/// <summary>Runs the operator CLI (<c>src/Client</c>) as a process, the way a user does.</summary>
public static class Cli
{
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => RunAsync(new Dictionary<string, string>(), arguments);

    /// <summary>Runs the CLI with <paramref name="environment"/> set over the test's own.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        // A cold CLI process on a machine busy with the suite's other process tests once took more
        // than the default 10 s to connect (fresh-ci); the tests are about what it does, not how fast.
        var withTimeout = new Dictionary<string, string>(environment);
        withTimeout.TryAdd("ORLEANS_KAFKA_CONNECT_TIMEOUT", "30");
        await using var cli = ChildProcess.Start("cli", "dotnet", [Assembly(), .. arguments], withTimeout);
        var exitCode = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, string.Join(Environment.NewLine, cli.Output));
    }

    private static string Assembly()
    {
        var configuration = typeof(Cli).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var path = Path.Combine(SiloHostAssembly.RepositoryRoot(), "src", "Client", "bin", configuration, "net10.0", "orleans-kafka.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"The CLI is not built: {path} is missing.", path);
    }
}
