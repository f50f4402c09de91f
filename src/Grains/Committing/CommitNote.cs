using System.Globalization;

namespace OrleansKafka.Committing;

/// <summary>
/// What the product writes in Kafka's metadata of each offset it commits: the lease epoch it
/// committed under and, for a processor with exactly-once state, the offset its checkpoint was
/// stored at. Kafka thereby knows a checkpoint exists, so a lease that finds the store's row
/// missing can tell that apart from a partition that never had state. For key-ordered
/// processors, also the records completed past the committed offset (<see cref="Done"/>), so that
/// the next owner does not run them again. Text, so that Kafka's tools show it as it is:
/// <c>orleans-kafka/1 epoch=12 checkpoint=4711</c>, <c>orleans-kafka/1 epoch=12 done=1+49.1+999</c>.
/// </summary>
internal readonly record struct CommitNote(long Epoch, long CheckpointOffset, string? Done = null)
{
    private const string Prefix = "orleans-kafka/1";

    /// <summary>
    /// The most characters of <see cref="Done"/>: the whole note stays within Kafka's
    /// <c>offset.metadata.max.bytes</c> (4,096 by default), with room for the rest of it.
    /// </summary>
    public const int MaxDoneChars = 3_900;

    /// <summary>The note as committed.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix} epoch={Epoch}")
        + (CheckpointOffset >= 0 ? string.Create(CultureInfo.InvariantCulture, $" checkpoint={CheckpointOffset}") : string.Empty)
        + (Done is { Length: > 0 } done ? $" done={done}" : string.Empty);

    /// <summary>The note in committed metadata; null for none, or for metadata another tool wrote.</summary>
    public static CommitNote? Parse(string? metadata)
    {
        if (metadata is null || !metadata.StartsWith(Prefix + " ", StringComparison.Ordinal))
        {
            return null;
        }

        long epoch = -1, checkpoint = -1;
        string? done = null;
        foreach (var part in metadata[(Prefix.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = part.IndexOf('=') is var at and > 0 ? (part[..at], part[(at + 1)..]) : (part, string.Empty);
            if (name == "done")
            {
                done = value;
                continue;
            }

            if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            switch (name)
            {
                case "epoch":
                    epoch = number;
                    break;
                case "checkpoint":
                    checkpoint = number;
                    break;
            }
        }

        return epoch >= 0 ? new CommitNote(epoch, checkpoint, done) : null;
    }
}
