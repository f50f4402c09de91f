using OrleansKafka.KeyGrains;

namespace OrleansKafka.Silo.Demo;

/// <summary>Counts one customer's orders and sums their amounts, exactly once per order.</summary>
internal sealed class CustomerTotalsGrain : KafkaKeyGrain<DemoOrder, OrderTotals>, ICustomerTotalsGrain
{
    protected override Task OnRecordAsync(KeyedRecord<DemoOrder> record)
    {
        State.Count++;
        State.Total += record.Value?.Amount ?? 0;
        return Task.CompletedTask;
    }

    public Task<OrderTotals> GetTotalsAsync() => Task.FromResult(State);
}
