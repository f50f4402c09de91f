using OrleansKafka.Testing.Processes;
using Xunit.Abstractions;

namespace OrleansKafka.Tests.Architecture;

/// <summary>The folders of the runtime (src/Grains) layer: the graph derived from the code has no cycle.</summary>
public sealed class FolderGraphTests(ITestOutputHelper output)
{
    private static readonly string Grains = Path.Combine(SiloHostAssembly.RepositoryRoot(), "src", "Grains");

    [Fact]
    public void Grains_FolderGraph_HasNoCycle()
    {
        var graph = FolderGraph.Read(Grains);
        output.WriteLine(graph.Describe());

        var cycles = graph.Cycles();

        Assert.True(cycles.Count == 0, string.Join(Environment.NewLine, cycles.Select(c => Explain(graph, c))));
    }

    [Fact]
    public void Grains_TopLevelTypeNames_AreUniqueAcrossFolders()
    {
        // The graph is read by name, so a name declared in two folders could hide a dependency.
        Assert.Empty(FolderGraph.Read(Grains).AmbiguousNames);
    }

    [Fact]
    public void Grains_FolderGraph_UsesOnlyWhatTheArchitectureFolderMapAllows()
    {
        var graph = FolderGraph.Read(Grains);
        var map = FolderMap.Read(Path.Combine(SiloHostAssembly.RepositoryRoot(), "docs", "architecture.md"));

        Assert.Equal(graph.Folders.Order(StringComparer.Ordinal), map.Keys.Order(StringComparer.Ordinal));
        var disallowed = graph.Folders
            .SelectMany(from => graph.Edges[from].Where(e => !map[from].Contains(e.Key)).Select(e => $"{from} -> {e.Key} ({e.Value})"))
            .ToList();
        Assert.True(disallowed.Count == 0, "Uses docs/architecture.md's folder map does not allow:" + Environment.NewLine + string.Join(Environment.NewLine, disallowed));
    }

    [Fact]
    public void Grains_NoGrainTakesTheServiceProvider()
    {
        // A grain that resolves services itself can reach anything, whatever the folder graph says.
        var grains = typeof(OrleansKafka.Partitions.PartitionGrain).Assembly.GetTypes().Where(t => typeof(Grain).IsAssignableFrom(t) && !t.IsAbstract);

        var offenders = grains.Where(g => g.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(IServiceProvider)))).Select(g => g.Name);

        Assert.Empty(offenders);
    }

    private static string Explain(FolderGraph graph, IReadOnlyList<string> cycle)
    {
        var members = cycle.ToHashSet(StringComparer.Ordinal);
        var edges = cycle.SelectMany(from => graph.Edges[from].Where(e => members.Contains(e.Key)).Select(e => $"  {from} -> {e.Key} ({e.Value})"));
        return $"{cycle.Count} folders form a cycle: {string.Join(", ", cycle)}{Environment.NewLine}{string.Join(Environment.NewLine, edges)}";
    }
}
