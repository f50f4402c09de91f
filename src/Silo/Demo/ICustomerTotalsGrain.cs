using OrleansKafka.KeyGrains;

namespace OrleansKafka.Silo.Demo;

/// <summary>The demo's key grain: one per customer (the record key), keeping that customer's order totals.</summary>
public interface ICustomerTotalsGrain : IKafkaKeyGrain<DemoOrder>, IGrainWithStringKey
{
    /// <summary>The customer's orders counted and their sum, as stored.</summary>
    Task<OrderTotals> GetTotalsAsync();
}
