namespace OrleansKafka.Silo.Demo;

/// <summary>Orders counted and the sum of their amounts: the demo's exactly-once state, per partition or per customer.</summary>
[GenerateSerializer, Alias("OrleansKafka.Demo.OrderTotals")]
public sealed class OrderTotals
{
    /// <summary>Orders counted.</summary>
    [Id(0)] public long Count { get; set; }

    /// <summary>The sum of their amounts.</summary>
    [Id(1)] public decimal Total { get; set; }
}
