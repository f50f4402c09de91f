namespace OrleansKafka.Leasing;

/// <summary>One live silo of a consumer group and the measured cost of the partitions it owns.</summary>
/// <param name="Silo">The silo (its endpoint).</param>
/// <param name="Partitions">The partitions it owns.</param>
/// <param name="Cost">Their measured cost together, in busy seconds a second.</param>
/// <param name="Capacity">How much the silo said it can carry (<c>Kafka:Placement:SiloCapacity</c>).</param>
/// <param name="Weight">Its share of the partitions relative to the others' (0: a standby).</param>
[GenerateSerializer, Immutable, Alias("OrleansKafka.SiloLoad")]
public sealed record SiloLoad(
    [property: Id(0)] string Silo,
    [property: Id(1)] int Partitions,
    [property: Id(2)] double Cost,
    [property: Id(3)] double Capacity,
    [property: Id(4)] int Weight);
