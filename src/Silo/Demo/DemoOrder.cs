namespace OrleansKafka.Silo.Demo;

/// <summary>The JSON value of a demo record.</summary>
public sealed record DemoOrder(long OrderId, string Customer, decimal Amount);
