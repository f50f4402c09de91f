using System.Reflection;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Support;

/// <summary>The benchmark program (<c>bench/</c>), which tests run as a process as a user runs it.</summary>
internal static class BenchProgram
{
    /// <summary>The path of <c>OrleansKafka.Bench.dll</c> in the configuration these tests were built in.</summary>
    /// <exception cref="FileNotFoundException">The benchmark program is not built.</exception>
    public static string Assembly()
    {
        var configuration = typeof(BenchProgram).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var path = Path.Combine(SiloHostAssembly.RepositoryRoot(), "bench", "bin", configuration, "net10.0", "OrleansKafka.Bench.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"The benchmark program is not built: {path} is missing.", path);
    }
}
