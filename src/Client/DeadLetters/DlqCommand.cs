using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using OrleansKafka.DeadLetters;
using OrleansKafka.Processing;
using Spectre.Console;

namespace OrleansKafka.Cli.DeadLetters;

/// <summary>
/// <c>dlq list</c> and <c>dlq redrive</c>: the dead letters of a topic, and sending them back to
/// where they came from (or <c>--to</c>), each once (<see cref="DeadLetterTopic"/>). Exit code 0 when done, 1 when Kafka refused some records, 2 for a
/// bad option, a missing topic or an unreachable Kafka.
/// </summary>
internal static class DlqCommand
{
    private const int Preview = 40;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Task<int> ListAsync(string bootstrapServers, string topic, DeadLetterSelection selection, bool json) => RunAsync(bootstrapServers, () =>
    {
        var (letters, redriven, _) = DeadLetterTopic.Read(Settings(bootstrapServers), topic, selection.Partition);
        var shown = letters.Where(selection.Matches).ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(
                shown.Select(l => new
                {
                    l.Partition,
                    l.Offset,
                    l.Timestamp,
                    key = l.KeyText,
                    value = DeadLetter.Text(l.Value),
                    errorType = l.Header(DeadLetterHeaders.ErrorType),
                    error = l.Header(DeadLetterHeaders.ErrorMessage),
                    sourceTopic = l.SourceTopic,
                    sourcePartition = l.Header(DeadLetterHeaders.SourcePartition),
                    sourceOffset = l.Header(DeadLetterHeaders.SourceOffset),
                    redriven = redriven.Contains((l.Partition, l.Offset)),
                }),
                Json));
            return Task.FromResult(0);
        }

        var table = new Table().Title(Markup.Escape($"{topic}: {shown.Count} dead letters, {shown.Count(l => redriven.Contains((l.Partition, l.Offset)))} redriven"))
            .AddColumns("Partition", "Offset", "When (UTC)", "Key", "Value", "Error", "From", "Redriven");
        foreach (var letter in shown)
        {
            table.AddRow(
                letter.Partition.ToString(CultureInfo.InvariantCulture),
                letter.Offset.ToString(CultureInfo.InvariantCulture),
                letter.Timestamp.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                Markup.Escape(Cut(letter.KeyText)),
                Markup.Escape(Cut(DeadLetter.Text(letter.Value))),
                Markup.Escape(Cut($"{letter.Header(DeadLetterHeaders.ErrorType)}: {letter.Header(DeadLetterHeaders.ErrorMessage)}")),
                Markup.Escape(letter.Source),
                redriven.Contains((letter.Partition, letter.Offset)) ? "yes" : "no");
        }

        AnsiConsole.Write(table);
        return Task.FromResult(0);
    });

    public static Task<int> RedriveAsync(string bootstrapServers, string topic, DeadLetterSelection selection, string? to, bool json) => RunAsync(bootstrapServers, async () =>
    {
        var (sent, before, noSource, failed) = await DeadLetterTopic.RedriveAsync(Settings(bootstrapServers), topic, selection, to);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { redriven = sent.Count, alreadyRedriven = before, noSourceTopic = noSource.Count, failed }, Json));
        }
        else
        {
            var where = string.Join(", ", sent.GroupBy(l => to ?? l.SourceTopic!).Select(g => $"{g.Count()} to {g.Key}"));
            AnsiConsole.MarkupLineInterpolated($"{topic}: redrove {sent.Count} record(s){(sent.Count > 0 ? $" ({where})" : string.Empty)}; {before} were redriven before.");
            if (noSource.Count > 0)
            {
                AnsiConsole.MarkupLineInterpolated($"{noSource.Count} record(s) have no {DeadLetterHeaders.SourceTopic} header and were left: name a topic with --to.");
            }

            foreach (var failure in failed)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]not redriven[/] {failure}");
            }
        }

        return failed.Count == 0 ? 0 : 1;
    });

    private static Dictionary<string, string> Settings(string bootstrapServers) => new() { ["bootstrap.servers"] = bootstrapServers };

    private static async Task<int> RunAsync(string? bootstrapServers, Func<Task<int>> run)
    {
        try
        {
            if (string.IsNullOrWhiteSpace(bootstrapServers))
            {
                throw new ArgumentException($"--bootstrap-servers (-b) is missing and {ProduceOptions.BootstrapServersVariable} is not set: give the Kafka brokers as host:port[,host:port...].");
            }

            return await run();
        }
        catch (Exception e) when (e is ArgumentException or KafkaException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
    }

    private static string Cut(string text) => text.Length <= Preview ? text : string.Concat(text.AsSpan(0, Preview - 1), "…");
}
