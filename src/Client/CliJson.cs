using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansKafka.Cli;

/// <summary>The CLI's <c>--json</c> output: web names (camelCase), enums as their names, indented.</summary>
internal static class CliJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = true,
    };
}
