using System.Globalization;
using System.Text;
using Confluent.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Cli.DeadLetters;

/// <summary>One dead-lettered record as the silo wrote it: the original key, value and headers, and the <c>x-dlq-*</c> headers saying where it came from and why.</summary>
internal sealed record DeadLetter(int Partition, long Offset, DateTime Timestamp, byte[]? Key, byte[]? Value, IReadOnlyList<IHeader> Headers)
{
    public string? Header(string name) => Headers.LastOrDefault(h => h.Key == name) is { } header ? Encoding.UTF8.GetString(header.GetValueBytes()) : null;

    public string? SourceTopic => Header(DeadLetterHeaders.SourceTopic);

    public string Source => $"{SourceTopic ?? "?"}/{Header(DeadLetterHeaders.SourcePartition) ?? "?"}@{Header(DeadLetterHeaders.SourceOffset) ?? "?"}";

    public string KeyText => Text(Key);

    public static string Text(byte[]? bytes) => bytes is null ? string.Empty : Encoding.UTF8.GetString(bytes);
}

/// <summary>The header names of a redrive (a dead-lettered record's own are <see cref="DeadLetterHeaders"/>).</summary>
internal static class RedriveHeaders
{
    /// <summary>On a redriven record: the dead-letter topic, partition and offset it came back from, and when.</summary>
    public const string FromTopic = "x-redrive-dlq-topic";
    public const string FromPartition = "x-redrive-dlq-partition";
    public const string FromOffset = "x-redrive-dlq-offset";
    public const string At = "x-redrive-at";

    /// <summary>
    /// On a marker, the record with no key and no value the CLI appends to a dead-letter partition
    /// after redriving one of its records: that record's offset. The markers of a partition are the
    /// durable list of what was redriven, kept in Kafka with the records themselves.
    /// </summary>
    public const string Marker = "x-redrive-marker";
}

/// <summary>
/// Reads a dead-letter topic from its beginning to its end as of the read: its dead letters and
/// which of them were redriven (the markers). A plain consumer with partitions assigned by hand;
/// it joins no group and commits nothing.
/// </summary>
internal static class DeadLetterTopic
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <exception cref="ArgumentException">The topic does not exist, or has none of the partitions asked for.</exception>
    /// <exception cref="KafkaException">Kafka did not answer.</exception>
    public static (IReadOnlyList<DeadLetter> Letters, IReadOnlySet<(int Partition, long Offset)> Redriven) Read(string bootstrapServers, string topic, int? onlyPartition)
    {
        using var admin = Admin(bootstrapServers);
        var metadata = admin.GetMetadata(topic, Timeout).Topics.SingleOrDefault(t => t.Topic == topic);
        if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
        {
            throw new ArgumentException($"Topic '{topic}' does not exist on {bootstrapServers}; expected a dead-letter topic, such as <topic>.dlq.");
        }

        var partitions = metadata.Partitions.Select(p => p.PartitionId).Where(p => onlyPartition is null || p == onlyPartition).Order().ToList();
        if (partitions.Count == 0)
        {
            throw new ArgumentException($"Topic '{topic}' has no partition {onlyPartition}; expected 0 to {metadata.Partitions.Count - 1}.");
        }

        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"orleans-kafka-cli.{topic}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            SocketConnectionSetupTimeoutMs = 3_000,
            AllowAutoCreateTopics = false,
        }).SetLogHandler((_, _) => { }).Build();
        var letters = new List<DeadLetter>();
        var redriven = new HashSet<(int, long)>();
        foreach (var partition in partitions)
        {
            var place = new TopicPartition(topic, partition);
            var marks = consumer.QueryWatermarkOffsets(place, Timeout);
            if (marks.High <= marks.Low)
            {
                continue;
            }

            consumer.Assign(new TopicPartitionOffset(place, marks.Low));
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

        return (letters, redriven);
    }

    /// <summary>An admin client whose metadata requests never create the topic they ask about (librdkafka's would), and that logs nothing of its own.</summary>
    public static IAdminClient Admin(string bootstrapServers) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, SocketConnectionSetupTimeoutMs = 3_000, AllowAutoCreateTopics = false })
            .SetLogHandler((_, _) => { })
            .Build();
}
