namespace OrleansKafka.Leasing;

/// <summary>A lease on one partition: the epoch under which its owner processes and commits.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.LeaseGrant")]
public readonly record struct LeaseGrant(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Epoch);
