using System.Globalization;
using System.Text;
using Confluent.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.DeadLetters;

/// <summary>One dead-lettered record as the silo wrote it: the original key, value and headers, and the <c>x-dlq-*</c> headers saying where it came from and why.</summary>
internal sealed record DeadLetter(int Partition, long Offset, DateTime Timestamp, byte[]? Key, byte[]? Value, IReadOnlyList<IHeader> Headers)
{
    public string? Header(string name) => Headers.LastOrDefault(h => h.Key == name) is { } header ? Encoding.UTF8.GetString(header.GetValueBytes()) : null;

    public string? SourceTopic => Header(DeadLetterHeaders.SourceTopic);

    public string Source => $"{SourceTopic ?? "?"}/{Header(DeadLetterHeaders.SourcePartition) ?? "?"}@{Header(DeadLetterHeaders.SourceOffset) ?? "?"}";

    public string KeyText => Text(Key);

    public static string Text(byte[]? bytes) => bytes is null ? string.Empty : Encoding.UTF8.GetString(bytes);
}

/// <summary>Which dead letters to work on: a key, a partition, a range of offsets of the dead-letter topic (inclusive).</summary>
internal sealed record DeadLetterSelection(string? Key, int? Partition, long? FromOffset, long? ToOffset)
{
    public bool Matches(DeadLetter letter) =>
        (Key is null || letter.KeyText == Key)
        && (Partition is null || letter.Partition == Partition)
        && (FromOffset is null || letter.Offset >= FromOffset)
        && (ToOffset is null || letter.Offset <= ToOffset);
}

/// <summary>What a read found: the dead letters, which of them were redriven, and how many records the topic holds (markers included; more than were read when only the newest were).</summary>
internal sealed record DeadLetterRead(IReadOnlyList<DeadLetter> Letters, IReadOnlySet<(int Partition, long Offset)> Redriven, long RecordsInTopic);

/// <summary>What a redrive did: the records sent back, those redriven before, those with no source topic (left), and the failures.</summary>
internal sealed record RedriveResult(IReadOnlyList<DeadLetter> Sent, int AlreadyRedriven, IReadOnlyList<DeadLetter> NoSourceTopic, IReadOnlyList<string> Failed);

/// <summary>The header names of a redrive (a dead-lettered record's own are <see cref="DeadLetterHeaders"/>).</summary>
internal static class RedriveHeaders
{
    /// <summary>On a redriven record: the dead-letter topic, partition and offset it came back from, and when.</summary>
    public const string FromTopic = "x-redrive-dlq-topic";
    public const string FromPartition = "x-redrive-dlq-partition";
    public const string FromOffset = "x-redrive-dlq-offset";
    public const string At = "x-redrive-at";

    /// <summary>
    /// On a marker, the record with no key and no value appended to a dead-letter partition after
    /// one of its records was redriven: that record's offset. The markers of a partition are the
    /// durable list of what was redriven, kept in Kafka with the records themselves.
    /// </summary>
    public const string Marker = "x-redrive-marker";

    /// <summary>On a marker: where the record went.</summary>
    public const string To = "x-redrive-to";
}

/// <summary>
/// A dead-letter topic, for the CLI's <c>dlq</c> commands and the Kafka page: read from its
/// beginning to its end as of the read (its dead letters, and which of them were redriven), and
/// redriven. A redriven record goes to its source topic (<c>x-dlq-source-topic</c>) or the one
/// named, with its original key, value and headers, the <c>x-dlq-*</c> headers replaced by
/// <c>x-redrive-*</c> ones; then a marker naming its offset is appended to its dead-letter
/// partition, so a second redrive skips it. A redrive stopped between the two sends that record
/// again next time (at least once). Plain clients: partitions assigned by hand, no group joined,
/// nothing committed, no topic created.
/// </summary>
internal static class DeadLetterTopic
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <param name="settings">Kafka client settings: the brokers, and whatever else the cluster needs (security).</param>
    /// <param name="topic">The dead-letter topic.</param>
    /// <param name="onlyPartition">One of its partitions, or all.</param>
    /// <param name="newestPerPartition">Only the newest records of each partition (a marker always follows its record, so those read are told right); all by default.</param>
    /// <exception cref="ArgumentException">The topic does not exist, or has none of the partitions asked for.</exception>
    /// <exception cref="KafkaException">Kafka did not answer.</exception>
    public static DeadLetterRead Read(IReadOnlyDictionary<string, string> settings, string topic, int? onlyPartition, int? newestPerPartition = null)
    {
        using var admin = Admin(settings);
        var metadata = admin.GetMetadata(topic, Timeout).Topics.SingleOrDefault(t => t.Topic == topic);
        if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
        {
            throw new ArgumentException($"Topic '{topic}' does not exist; expected a dead-letter topic, such as <topic>.dlq.");
        }

        var partitions = metadata.Partitions.Select(p => p.PartitionId).Where(p => onlyPartition is null || p == onlyPartition).Order().ToList();
        if (partitions.Count == 0)
        {
            throw new ArgumentException($"Topic '{topic}' has no partition {onlyPartition}; expected 0 to {metadata.Partitions.Count - 1}.");
        }

        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig(settings.ToDictionary())
        {
            GroupId = $"orleans-kafka-dlq.{topic}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            SocketConnectionSetupTimeoutMs = 3_000,
            AllowAutoCreateTopics = false,
        }).SetLogHandler((_, _) => { }).Build();
        var letters = new List<DeadLetter>();
        var redriven = new HashSet<(int, long)>();
        long records = 0;
        foreach (var partition in partitions)
        {
            var place = new TopicPartition(topic, partition);
            var marks = consumer.QueryWatermarkOffsets(place, Timeout);
            if (marks.High <= marks.Low)
            {
                continue;
            }

            records += marks.High - marks.Low;
            var from = newestPerPartition is { } newest ? Math.Max(marks.Low.Value, marks.High.Value - newest) : marks.Low.Value;
            consumer.Assign(new TopicPartitionOffset(place, from));
            var deadline = DateTime.UtcNow + Timeout;
            while (true)
            {
                var result = consumer.Consume(deadline - DateTime.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero)
                    ?? throw new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_TimedOut, $"{topic}/{partition} was not read to its end (offset {marks.High}) within {Timeout.TotalSeconds:0} s"));
                if (result.IsPartitionEOF || result.Offset >= marks.High)
                {
                    break;
                }

                var headers = result.Message.Headers?.ToList() ?? [];
                var marker = headers.LastOrDefault(h => h.Key == RedriveHeaders.Marker);
                if (marker is not null && long.TryParse(Encoding.UTF8.GetString(marker.GetValueBytes()), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                {
                    redriven.Add((partition, offset));
                }
                else
                {
                    letters.Add(new DeadLetter(partition, result.Offset.Value, result.Message.Timestamp.UtcDateTime, result.Message.Key, result.Message.Value, headers));
                }

                if (result.Offset.Value + 1 >= marks.High)
                {
                    break;
                }
            }

            consumer.Unassign();
        }

        return new DeadLetterRead(letters, redriven, records);
    }

    /// <summary>Sends the selected dead letters not redriven before back to their source topic, or <paramref name="to"/>.</summary>
    /// <exception cref="ArgumentException">A topic does not exist.</exception>
    /// <exception cref="KafkaException">Kafka did not answer.</exception>
    /// <remarks>
    /// One redrive of a topic at a time in this process: two at once would both send what neither
    /// has marked yet. A record sent back to its source topic goes to its source partition
    /// (<c>x-dlq-source-partition</c>), where its key's other records are, whatever partitioner made it.
    /// </remarks>
    public static async Task<RedriveResult> RedriveAsync(IReadOnlyDictionary<string, string> settings, string topic, DeadLetterSelection selection, string? to)
    {
        var gate = Redriving.GetOrAdd(topic, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            return await RedriveOnceAsync(settings, topic, selection, to);
        }
        finally
        {
            gate.Release();
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Redriving = new(StringComparer.Ordinal);

    private static async Task<RedriveResult> RedriveOnceAsync(IReadOnlyDictionary<string, string> settings, string topic, DeadLetterSelection selection, string? to)
    {
        var (letters, redriven, _) = Read(settings, topic, selection.Partition);
        var chosen = letters.Where(l => selection.Matches(l) && !redriven.Contains((l.Partition, l.Offset))).ToList();
        var noSource = chosen.Where(l => to is null && string.IsNullOrEmpty(l.SourceTopic)).ToList();
        chosen = [.. chosen.Except(noSource)];
        var partitions = PartitionCounts(settings, chosen.Select(l => to ?? l.SourceTopic!).Distinct());

        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig(settings.ToDictionary())
        {
            EnableIdempotence = true,
            MessageTimeoutMs = 10_000,
            SocketConnectionSetupTimeoutMs = 3_000,
            AllowAutoCreateTopics = false,
        }).SetLogHandler((_, _) => { }).Build();

        // All sent at once, then awaited: Kafka acknowledges them in one go.
        var sends = chosen.Select(l => (Letter: l, Send: producer.ProduceAsync(Destination(l, to, partitions), Redriven(topic, l)))).ToList();
        var sent = new List<DeadLetter>();
        var failed = new List<string>();
        foreach (var (letter, send) in sends)
        {
            try
            {
                await send;
                sent.Add(letter);
            }
            catch (ProduceException<byte[]?, byte[]?> e)
            {
                failed.Add($"{letter.Partition}@{letter.Offset}: {e.Error.Reason}");
            }
        }

        // Only now, with the records acknowledged: the markers that make a second redrive skip them.
        foreach (var (letter, mark) in sent.Select(l => (l, producer.ProduceAsync(new TopicPartition(topic, l.Partition), Marker(l, to ?? l.SourceTopic!)))).ToList())
        {
            try
            {
                await mark;
            }
            catch (ProduceException<byte[]?, byte[]?> e)
            {
                failed.Add($"{letter.Partition}@{letter.Offset}: redriven, but its marker was not written ({e.Error.Reason}); the next redrive sends it again");
            }
        }

        return new RedriveResult(sent, letters.Count(l => selection.Matches(l) && redriven.Contains((l.Partition, l.Offset))), noSource, failed);
    }

    /// <summary>Back to the source partition when it goes back to the source topic (and the topic has it); else the topic, its partitioner choosing.</summary>
    private static TopicPartition Destination(DeadLetter letter, string? to, IReadOnlyDictionary<string, int> partitions) =>
        to is null && int.TryParse(letter.Header(DeadLetterHeaders.SourcePartition), NumberStyles.None, CultureInfo.InvariantCulture, out var source) && source < partitions[letter.SourceTopic!]
            ? new TopicPartition(letter.SourceTopic!, source)
            : new TopicPartition(to ?? letter.SourceTopic!, Partition.Any);

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
            { RedriveHeaders.To, Encoding.UTF8.GetBytes(destination) },
        },
    };

    /// <summary>The partition counts of the topics records go to.</summary>
    /// <exception cref="ArgumentException">One does not exist.</exception>
    private static Dictionary<string, int> PartitionCounts(IReadOnlyDictionary<string, string> settings, IEnumerable<string> topics)
    {
        using var admin = Admin(settings);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            var metadata = admin.GetMetadata(topic, Timeout).Topics.SingleOrDefault(t => t.Topic == topic);
            if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
            {
                throw new ArgumentException($"Topic '{topic}', where records would be redriven to, does not exist; expected an existing topic (create it, or name another).");
            }

            counts[topic] = metadata.Partitions.Count;
        }

        return counts;
    }

    /// <summary>An admin client whose metadata requests never create the topic they ask about (librdkafka's would), and that logs nothing of its own.</summary>
    private static IAdminClient Admin(IReadOnlyDictionary<string, string> settings) =>
        new AdminClientBuilder(new AdminClientConfig(settings.ToDictionary()) { SocketConnectionSetupTimeoutMs = 3_000, AllowAutoCreateTopics = false })
            .SetLogHandler((_, _) => { })
            .Build();
}
