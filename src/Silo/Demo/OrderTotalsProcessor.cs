using Microsoft.Extensions.Logging;
using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Demo;

/// <summary>
/// A sample record processor with exactly-once state: counts the orders of its partition and sums
/// their amounts. The partition grain stores the totals with the offset they cover, so a kill, a
/// freeze or a move neither loses an order nor counts one twice.
/// </summary>
internal sealed partial class OrderTotalsProcessor(ILogger<OrderTotalsProcessor> logger) : IRecordProcessor<string, DemoOrder>, IStatefulProcessor<OrderTotals>
{
    public OrderTotals State { get; set; } = new();

    public ValueTask ProcessAsync(KafkaRecord<string, DemoOrder> record, CancellationToken cancellationToken)
    {
        State.Count++;
        State.Total += record.Value?.Amount ?? 0;
        if (State.Count % 100 == 0)
        {
            LogTotal(logger, record.Context.Topic, record.Context.Partition, State.Count, State.Total, record.Context.Offset, record.Context.LeaseEpoch);
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 9031, Level = LogLevel.Information, Message = "{Topic}[{Partition}]: {Orders} orders totalling {Total} processed (offset {Offset}, lease epoch {Epoch})")]
    private static partial void LogTotal(ILogger logger, string topic, int partition, long orders, decimal total, long offset, long epoch);
}
