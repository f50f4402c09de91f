namespace OrleansKafka.Leasing;

/// <summary>Who owns one partition of a consumer group.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.PartitionAssignment")]
public sealed record PartitionAssignment(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] string? Owner,
    [property: Id(3)] long Epoch,
    [property: Id(4)] bool Revoking)
{
    /// <summary>
    /// The partition's cost as its owner last measured it, in busy seconds a second: seconds of
    /// processing per record × (records arriving a second + lag / 60 s); null before any report.
    /// </summary>
    [Id(5)] public double? Cost { get; init; }

    /// <summary>Why the partition has no owner, when no live silo may take it (none is live, or each lacks a role the group's processors require); null otherwise.</summary>
    [Id(6)] public string? Waiting { get; init; }
}
