namespace OrleansKafka.Partitions;

/// <summary>
/// What a partition grain keeps in grain storage: the operator's pause, the record it holds at,
/// the keys it holds, and the partition's ownership history. Written with the storage's ETag, so a stale activation's write fails.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.PartitionControl")]
internal sealed class PartitionControl
{
    /// <summary>The most owners kept in <see cref="History"/>.</summary>
    public const int MaxHistory = 20;

    /// <summary>When an operator paused the partition; null when it runs.</summary>
    [Id(0)] public DateTimeOffset? PausedSince { get; set; }

    /// <summary>The owners, oldest first.</summary>
    [Id(1)] public List<OwnershipRecord> History { get; set; } = [];

    /// <summary>The record the partition holds at until an operator decides; null when it holds at none.</summary>
    [Id(2)] public StoredHold? Hold { get; set; }

    /// <summary>The keys the partition holds (<see cref="Configuration.FailureAction.HoldKey"/>), lowest offset first.</summary>
    [Id(3)] public List<KeyHolds.StoredKeyHold> KeyHolds { get; set; } = [];

    /// <summary>Held records an operator skipped or dead-lettered that the commit had not passed when this was written.</summary>
    [Id(4)] public List<long> ResolvedOffsets { get; set; } = [];
}
