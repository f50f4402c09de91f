using System.Reflection;

namespace OrleansKafka.Testing.Processes;

/// <summary>Finds the silo host (<c>src/Silo</c>) build that tests and benchmarks start as processes.</summary>
public static class SiloHostAssembly
{
    /// <summary>
    /// <c>OrleansKafka.Silo.dll</c> of the repository this code runs from, built in the same
    /// configuration as this assembly.
    /// </summary>
    /// <exception cref="FileNotFoundException">The silo host is not built.</exception>
    public static string Locate()
    {
        var configuration = typeof(SiloHostAssembly).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var path = Path.Combine(RepositoryRoot(), "src", "Silo", "bin", configuration, "net10.0", "OrleansKafka.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"The silo host is not built: {path} is missing. Build src/Silo in {configuration}.", path);
    }

    /// <summary>The folder of the repository (the one holding <c>OrleansKafka.sln</c>) this code runs from.</summary>
    /// <exception cref="FileNotFoundException">This code does not run from a build inside the repository.</exception>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansKafka.sln")))
            {
                return dir.FullName;
            }
        }

        throw new FileNotFoundException($"No OrleansKafka.sln above {AppContext.BaseDirectory}, so the repository could not be found.");
    }
}
