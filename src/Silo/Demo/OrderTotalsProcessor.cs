using Microsoft.Extensions.Logging;
using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Demo;

/// <summary>A sample record processor: keeps a running total of the orders of its partition and logs it now and then.</summary>
internal sealed partial class OrderTotalsProcessor(ILogger<OrderTotalsProcessor> logger) : IRecordProcessor<string, DemoOrder>
{
    private long _orders;
    private decimal _total;

    public ValueTask ProcessAsync(KafkaRecord<string, DemoOrder> record, CancellationToken cancellationToken)
    {
        _orders++;
        _total += record.Value?.Amount ?? 0;
        if (_orders % 100 == 0)
        {
            LogTotal(logger, record.Context.Topic, record.Context.Partition, _orders, _total, record.Context.Offset, record.Context.LeaseEpoch);
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}[{Partition}]: {Orders} orders totalling {Total} processed (offset {Offset}, lease epoch {Epoch})")]
    private static partial void LogTotal(ILogger logger, string topic, int partition, long orders, decimal total, long offset, long epoch);
}
