using System.Globalization;
using System.Text.Json;
using OrleansKafka.Partitions;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>The <c>history</c> command: which silos owned a partition, from when, under which epoch, and why it moved.</summary>
internal static class HistoryCommand
{
    public static Func<IPartitionGrain, string, Task> Show(bool json) => async (grain, key) =>
    {
        var history = await grain.GetHistoryAsync();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(history, CliJson.Options));
            return;
        }

        var table = new Table().Title(Markup.Escape(key)).AddColumns("Since", "Silo", "Epoch", "Why");
        foreach (var owner in history)
        {
            table.AddRow(
                owner.Since.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                Markup.Escape(owner.Silo),
                owner.Epoch.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(owner.Detail is null ? owner.Reason.ToString() : $"{owner.Reason}: {owner.Detail}"));
        }

        AnsiConsole.Write(table);
    };
}
