using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrleansKafka.Processing;
using Spectre.Console;

namespace OrleansKafka.Cli.DeadLetters;

/// <summary>Which dead letters a <c>dlq</c> command works on: a key, a partition, a range of offsets of the dead-letter topic (inclusive).</summary>
internal sealed record DeadLetterSelection(string? Key, int? Partition, long? FromOffset, long? ToOffset)
{
    public bool Matches(DeadLetter letter) =>
        (Key is null || letter.KeyText == Key)
        && (FromOffset is null || letter.Offset >= FromOffset)
        && (ToOffset is null || letter.Offset <= ToOffset);
}

/// <summary>
/// <c>dlq list</c> and <c>dlq redrive</c>: the dead letters of a topic, and sending them back to
/// where they came from. A redriven record goes to its source topic (<c>x-dlq-source-topic</c>) or
/// <c>--to</c> with its original key, value and headers, the <c>x-dlq-*</c> headers replaced by
/// <c>x-redrive-*</c> ones; then a marker naming its offset is appended to its dead-letter
/// partition, so a second redrive skips it. A run stopped between the two sends that record again
/// next time (at least once). Exit code 0 when done, 1 when Kafka refused some records, 2 for a
/// bad option, a missing topic or an unreachable Kafka.
/// </summary>
internal static class DlqCommand
{
    private const int Preview = 40;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Task<int> ListAsync(string bootstrapServers, string topic, DeadLetterSelection selection, bool json) => RunAsync(bootstrapServers, () =>
    {
        var (letters, redriven) = DeadLetterTopic.Read(bootstrapServers, topic, selection.Partition);
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
        var (letters, redriven) = DeadLetterTopic.Read(bootstrapServers, topic, selection.Partition);
        var chosen = letters.Where(l => selection.Matches(l) && !redriven.Contains((l.Partition, l.Offset))).ToList();
        var noSource = chosen.Where(l => to is null && string.IsNullOrEmpty(l.SourceTopic)).ToList();
        chosen = [.. chosen.Except(noSource)];
        CheckTopicsExist(bootstrapServers, chosen.Select(l => to ?? l.SourceTopic!).Distinct());

        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            MessageTimeoutMs = 10_000,
            SocketConnectionSetupTimeoutMs = 3_000,
            AllowAutoCreateTopics = false,
        }).SetLogHandler((_, _) => { }).Build();
        var sent = new List<DeadLetter>();
        var failed = new List<string>();
        foreach (var letter in chosen)
        {
            try
            {
                await producer.ProduceAsync(to ?? letter.SourceTopic!, Redriven(topic, letter));
                sent.Add(letter);
            }
            catch (ProduceException<byte[]?, byte[]?> e)
            {
                failed.Add($"{letter.Partition}@{letter.Offset}: {e.Error.Reason}");
            }
        }

        // Only now, with the records acknowledged: the markers that make a second redrive skip them.
        foreach (var letter in sent)
        {
            await producer.ProduceAsync(new TopicPartition(topic, letter.Partition), Marker(letter, to ?? letter.SourceTopic!));
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { redriven = sent.Count, alreadyRedriven = letters.Count(l => selection.Matches(l) && redriven.Contains((l.Partition, l.Offset))), noSourceTopic = noSource.Count, failed }, Json));
        }
        else
        {
            var where = string.Join(", ", sent.GroupBy(l => to ?? l.SourceTopic!).Select(g => $"{g.Count()} to {g.Key}"));
            AnsiConsole.MarkupLineInterpolated($"{topic}: redrove {sent.Count} record(s){(sent.Count > 0 ? $" ({where})" : string.Empty)}; {redriven.Count} were redriven before.");
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

    private static Message<byte[]?, byte[]?> Redriven(string topic, DeadLetter letter)
    {
        var headers = new Headers();
        foreach (var header in letter.Headers.Where(h => !h.Key.StartsWith(DeadLetterHeaders.Prefix, StringComparison.Ordinal)))
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add(RedriveHeaders.FromTopic, Encoding.UTF8.GetBytes(topic));
        headers.Add(RedriveHeaders.FromPartition, Encoding.UTF8.GetBytes(letter.Partition.ToString(CultureInfo.InvariantCulture)));
        headers.Add(RedriveHeaders.FromOffset, Encoding.UTF8.GetBytes(letter.Offset.ToString(CultureInfo.InvariantCulture)));
        headers.Add(RedriveHeaders.At, Encoding.UTF8.GetBytes(DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)));
        return new Message<byte[]?, byte[]?> { Key = letter.Key, Value = letter.Value, Headers = headers };
    }

    private static Message<byte[]?, byte[]?> Marker(DeadLetter letter, string destination) => new()
    {
        Key = null,
        Value = null,
        Headers = new Headers
        {
            { RedriveHeaders.Marker, Encoding.UTF8.GetBytes(letter.Offset.ToString(CultureInfo.InvariantCulture)) },
            { "x-redrive-to", Encoding.UTF8.GetBytes(destination) },
        },
    };

    private static void CheckTopicsExist(string bootstrapServers, IEnumerable<string> topics)
    {
        using var admin = DeadLetterTopic.Admin(bootstrapServers);
        foreach (var topic in topics)
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == topic);
            if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
            {
                throw new ArgumentException($"Topic '{topic}', where records would be redriven to, does not exist; expected an existing topic (create it, or name another with --to).");
            }
        }
    }

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
