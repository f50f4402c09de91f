namespace OrleansKafka.LeaseProtocol;

/// <summary>What a silo measured of one partition it holds, sent with its heartbeats: what placement by load balances.</summary>
/// <param name="Topic">The partition's topic.</param>
/// <param name="Partition">The partition's number.</param>
/// <param name="Cost">
/// The busy seconds a second the partition needs: its seconds of processing per record × (records
/// arriving a second + lag / 60 s). 1 is a partition that keeps its processing busy all the time.
/// </param>
[GenerateSerializer, Immutable, Alias("OrleansKafka.PartitionLoad")]
internal readonly record struct PartitionLoad(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] double Cost);
