using System.Text.RegularExpressions;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Architecture;

/// <summary>House rules read off the source of src/: files small enough to read, log events that can be told apart.</summary>
public sealed partial class SourceRulesTests
{
    /// <summary>About a screenful or six: past that a file does more than one thing.</summary>
    private const int MaxLines = 360;

    private static readonly string Source = Path.Combine(SiloHostAssembly.RepositoryRoot(), "src");

    [Fact]
    public void EverySourceFile_IsAtMostAboutThreeHundredFiftyLines()
    {
        var tooLong = SourceFiles()
            .Select(f => (File: Path.GetRelativePath(Source, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();

        Assert.True(tooLong.Count == 0, $"Files over {MaxLines} lines (split them by concern):{Environment.NewLine}{string.Join(Environment.NewLine, tooLong)}");
    }

    [Fact]
    public void EveryLogMessage_HasAnEventId_UniqueInItsProject()
    {
        var declarations = SourceFiles()
            .SelectMany(f => LogMessage().Matches(File.ReadAllText(f)).Select(m => (Project: Path.GetRelativePath(Source, f).Split(Path.DirectorySeparatorChar)[0], File: Path.GetFileName(f), Id: m.Groups["id"].Success ? int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0)))
            .ToList();

        Assert.NotEmpty(declarations);
        Assert.Empty(declarations.Where(d => d.Id == 0).Select(d => d.File));
        var duplicates = declarations.GroupBy(d => (d.Project, d.Id)).Where(g => g.Count() > 1).Select(g => $"{g.Key.Project} event id {g.Key.Id}: {string.Join(", ", g.Select(d => d.File))}");
        Assert.Empty(duplicates);
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(Source, f).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"));

    [GeneratedRegex(@"\[LoggerMessage\((?:EventId\s*=\s*(?<id>\d+))?")]
    private static partial Regex LogMessage();
}
