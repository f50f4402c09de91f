using OrleansKafka.KeyGrains;

namespace OrderSilo;

/// <summary>One grain per customer (the record's key): the orders it was sent, each counted exactly once.</summary>
public interface ICustomerOrdersGrain : IKafkaKeyGrain<string>, IGrainWithStringKey
{
    Task<CustomerOrders> GetOrdersAsync();
}

[GenerateSerializer, Alias("OrderSilo.CustomerOrders")]
public sealed class CustomerOrders
{
    [Id(0)] public long Count { get; set; }

    [Id(1)] public string? Last { get; set; }
}

internal sealed class CustomerOrdersGrain : KafkaKeyGrain<string, CustomerOrders>, ICustomerOrdersGrain
{
    protected override Task OnRecordAsync(KeyedRecord<string> record)
    {
        State.Count++;
        State.Last = record.Value;
        return Task.CompletedTask;
    }

    public Task<CustomerOrders> GetOrdersAsync() => Task.FromResult(State);
}
