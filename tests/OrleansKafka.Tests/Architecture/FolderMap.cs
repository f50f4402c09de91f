using System.Text.RegularExpressions;

namespace OrleansKafka.Tests.Architecture;

/// <summary>
/// The folder map of docs/architecture.md: one table row per folder of src/Grains, naming in
/// back-quotes the folders it may use ("nothing" for none).
/// </summary>
internal static partial class FolderMap
{
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> Read(string architectureMarkdown)
    {
        var map = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var inMap = false;
        foreach (var line in File.ReadLines(architectureMarkdown))
        {
            if (line.StartsWith('#'))
            {
                inMap = line.Trim() == "#### Folder map";
                continue;
            }

            if (!inMap || Row().Match(line) is not { Success: true } row)
            {
                continue;
            }

            var uses = Folder().Matches(row.Groups["uses"].Value).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            map.Add(row.Groups["folder"].Value, uses);
        }

        return map.Count > 0 ? map : throw new InvalidDataException($"{architectureMarkdown} has no '#### Folder map' table.");
    }

    [GeneratedRegex(@"^\| `(?<folder>[\w/]+)/` \|[^|]*\| (?<uses>[^|]*) \|$")]
    private static partial Regex Row();

    [GeneratedRegex(@"`([\w/]+)`")]
    private static partial Regex Folder();
}
