namespace OrleansKafka.Silo.Demo;

/// <summary>The JSON value of a demo record.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.Demo.DemoOrder")]
public sealed record DemoOrder([property: Id(0)] long OrderId, [property: Id(1)] string Customer, [property: Id(2)] decimal Amount);
