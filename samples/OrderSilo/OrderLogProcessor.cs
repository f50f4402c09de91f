using OrleansKafka.Processing;

namespace OrderSilo;

/// <summary>Logs each order: one partition's records arrive here one at a time, in offset order.</summary>
public sealed partial class OrderLogProcessor(ILogger<OrderLogProcessor> logger) : IRecordProcessor<string, string>
{
    public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        Processed(record.Context.Topic, record.Context.Partition, record.Context.Offset, record.Key);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "order {Topic}/{Partition}@{Offset} for customer {Customer}")]
    private partial void Processed(string topic, int partition, long offset, string? customer);
}
