using System.Globalization;

namespace OrleansKafka.Committing;

/// <summary>
/// What the product writes in Kafka's metadata of each offset it commits: the lease epoch it
/// committed under and, for a processor with exactly-once state, the offset its checkpoint was
/// stored at. Kafka thereby knows a checkpoint exists, so a lease that finds the store's row
/// missing can tell that apart from a partition that never had state. Text, so that Kafka's
/// tools show it as it is: <c>orleans-kafka/1 epoch=12 checkpoint=4711</c>.
/// </summary>
internal readonly record struct CommitNote(long Epoch, long CheckpointOffset)
{
    private const string Prefix = "orleans-kafka/1";

    /// <summary>The note as committed.</summary>
    public override string ToString() => CheckpointOffset >= 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Prefix} epoch={Epoch} checkpoint={CheckpointOffset}")
        : string.Create(CultureInfo.InvariantCulture, $"{Prefix} epoch={Epoch}");

    /// <summary>The note in committed metadata; null for none, or for metadata another tool wrote.</summary>
    public static CommitNote? Parse(string? metadata)
    {
        if (metadata is null || !metadata.StartsWith(Prefix + " ", StringComparison.Ordinal))
        {
            return null;
        }

        long epoch = -1, checkpoint = -1;
        foreach (var part in metadata[(Prefix.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = part.IndexOf('=') is var at and > 0 ? (part[..at], part[(at + 1)..]) : (part, string.Empty);
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

        return epoch >= 0 ? new CommitNote(epoch, checkpoint) : null;
    }
}
