using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OrleansKafka.Tests.Architecture;

/// <summary>
/// The dependency graph between the folders of one source tree, derived from the code: folder A
/// uses folder B when a file of A names a top-level type declared in a file of B. Names are read
/// from syntax (comments and strings do not count), so a name declared at the top level of two
/// folders is reported rather than guessed.
/// </summary>
internal sealed class FolderGraph
{
    private FolderGraph(IReadOnlyDictionary<string, IReadOnlyDictionary<string, Evidence>> edges, IReadOnlyList<string> folders, IReadOnlyList<string> ambiguous)
    {
        Edges = edges;
        Folders = folders;
        AmbiguousNames = ambiguous;
    }

    /// <summary>Each folder, relative to the root, with '/' between parts; "." for the root itself.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>For each folder, the folders it uses, with one file and one type name that show it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, Evidence>> Edges { get; }

    /// <summary>Top-level type names declared in more than one folder.</summary>
    public IReadOnlyList<string> AmbiguousNames { get; }

    /// <summary>Reads every C# file under <paramref name="root"/> (bin and obj excluded).</summary>
    public static FolderGraph Read(string root)
    {
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(root, f)))
            .Select(f => (Path: Path.GetRelativePath(root, f).Replace('\\', '/'), Tree: CSharpSyntaxTree.ParseText(File.ReadAllText(f))))
            .ToList();

        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (path, tree) in files)
        {
            foreach (var name in TopLevelTypeNames(tree.GetRoot()))
            {
                if (!declaredIn.TryGetValue(name, out var folders))
                {
                    declaredIn[name] = folders = [];
                }

                folders.Add(FolderOf(path));
            }
        }

        var ambiguous = declaredIn.Where(d => d.Value.Count > 1).Select(d => d.Key).Order(StringComparer.Ordinal).ToList();
        var edges = new SortedDictionary<string, SortedDictionary<string, Evidence>>(StringComparer.Ordinal);
        foreach (var (path, tree) in files)
        {
            var from = FolderOf(path);
            if (!edges.TryGetValue(from, out var uses))
            {
                edges[from] = uses = new SortedDictionary<string, Evidence>(StringComparer.Ordinal);
            }

            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>().Select(n => n.Identifier.ValueText))
            {
                if (declaredIn.TryGetValue(name, out var folders) && folders.Count == 1 && folders.First() is var to && to != from)
                {
                    uses.TryAdd(to, new Evidence(path, name));
                }
            }
        }

        return new FolderGraph(
            edges.ToDictionary(e => e.Key, e => (IReadOnlyDictionary<string, Evidence>)e.Value, StringComparer.Ordinal),
            [.. edges.Keys],
            ambiguous);
    }

    /// <summary>The groups of two or more folders that depend on each other in a ring (strongly connected components).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        // Tarjan's algorithm; the graph has a few dozen nodes, so recursion depth is no concern.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var components = new List<IReadOnlyList<string>>();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in Uses(node))
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    components.Add(component);
                }
            }
        }

        foreach (var folder in Folders)
        {
            if (!index.ContainsKey(folder))
            {
                Visit(folder);
            }
        }

        return components;
    }

    /// <summary>The folders <paramref name="folder"/> uses directly.</summary>
    public IEnumerable<string> Uses(string folder) =>
        Edges.TryGetValue(folder, out var uses) ? uses.Keys : [];

    /// <summary>One line per folder: the folders it uses.</summary>
    public string Describe() =>
        string.Join(Environment.NewLine, Folders.Select(f => $"{f} -> {string.Join(", ", Uses(f))}"));

    private static IEnumerable<string> TopLevelTypeNames(SyntaxNode root) =>
        root.DescendantNodes(n => n is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax)
            .Where(n => n.Parent is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax)
            .Select(n => n switch
            {
                BaseTypeDeclarationSyntax type => type.Identifier.ValueText,
                DelegateDeclarationSyntax d => d.Identifier.ValueText,
                _ => null,
            })
            .OfType<string>();

    private static string FolderOf(string path) =>
        Path.GetDirectoryName(path) is { Length: > 0 } dir ? dir.Replace('\\', '/') : ".";

    private static bool IsBuildOutput(string relative) =>
        relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) is var parts && (parts.Contains("bin") || parts.Contains("obj"));

    /// <summary>Where a dependency shows: a file of the using folder and a type name it uses.</summary>
    public sealed record Evidence(string File, string TypeName)
    {
        public override string ToString() => $"{File} names {TypeName}";
    }
}
