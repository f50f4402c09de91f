using System.Globalization;
using System.Text.Json;
using OrleansKafka.Partitions;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>
/// The <c>key</c> commands: the keys a partition holds (<c>OnFailure = HoldKey</c>), and an
/// operator's retry, skip or dead-letter of one of them, named by its key as <c>key list</c> and
/// <c>status</c> show it (or by its held offset, when keys look alike).
/// </summary>
internal static class KeyCommand
{
    /// <summary>The <c>key list</c> command.</summary>
    public static Func<IPartitionGrain, string, Task> List(bool json) => async (grain, name) =>
    {
        var status = await grain.GetStatusAsync();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(status.HeldKeys, CliJson.Options));
            return;
        }

        if (status.HeldKeys.Count == 0)
        {
            AnsiConsole.MarkupLineInterpolated($"{name}: holds no key.");
            return;
        }

        var table = new Table().Title(Markup.Escape($"{name}: {status.HeldKeys.Count} held key(s), {status.RecordsWaiting} record(s) waiting"))
            .AddColumns("Key", "Offset", "Waiting", "Since", "Attempts", "Error", "Value");
        foreach (var key in status.HeldKeys)
        {
            table.AddRow(
                Markup.Escape(key.Key),
                key.Offset.ToString(CultureInfo.InvariantCulture),
                key.Waiting.ToString(CultureInfo.InvariantCulture),
                key.Since.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                key.Attempts.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(key.Error ?? string.Empty),
                Markup.Escape(key.Value ?? string.Empty));
        }

        AnsiConsole.Write(table);
    };

    /// <summary>The <c>key retry|skip|dead-letter</c> commands.</summary>
    public static Func<IPartitionGrain, string, Task> Decide(HoldDecision decision, string key, long? offset) => async (grain, name) =>
    {
        var status = await grain.GetStatusAsync();
        var matches = status.HeldKeys.Where(k => k.Key == key && (offset is null || k.Offset == offset)).ToList();
        var held = status.HeldKeys.Count == 0 ? "it holds none" : $"it holds {string.Join(", ", status.HeldKeys.Select(k => $"'{k.Key}' at offset {k.Offset}"))}";
        if (matches.Count == 0)
        {
            throw new InvalidOperationException($"{name} holds no key '{key}'{(offset is { } at ? $" at offset {at}" : string.Empty)}: {held}. Nothing was changed.");
        }

        if (matches.Count > 1)
        {
            throw new InvalidOperationException($"{name} holds {matches.Count} keys shown as '{key}' (long keys are cut short): {held}. Name one with --offset; nothing was changed.");
        }

        var target = matches[0];
        await grain.ResolveKeyHoldAsync(target.Offset, decision);
        AnsiConsole.MarkupLineInterpolated($"{name}: {decision} of key '{target.Key}' at offset {target.Offset} sent; its {target.Waiting} waiting record(s) run in order.");
    };
}
