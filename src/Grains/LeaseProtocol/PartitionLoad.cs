namespace OrleansKafka.LeaseProtocol;

/// <summary>What a silo measured of one partition it holds, sent with its heartbeats: what placement by load balances.</summary>
/// <param name="Topic">The partition's topic.</param>
/// <param name="Partition">The partition's number.</param>
/// <param name="Cost">
/// The busy seconds a second the partition needs: its seconds of processing per record × (records
/// arriving a second + lag / 60 s). 1 is a partition that keeps its processing busy all the time.
/// </param>
/// <param name="RecordsPerSecond">Records processed a second, smoothed over about 10 s.</param>
/// <param name="Lag">Records fetched from Kafka's high watermark not yet processed.</param>
[GenerateSerializer, Immutable, Alias("OrleansKafka.PartitionLoad")]
internal readonly record struct PartitionLoad(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] double Cost,
    [property: Id(3)] double RecordsPerSecond,
    [property: Id(4)] long Lag);
