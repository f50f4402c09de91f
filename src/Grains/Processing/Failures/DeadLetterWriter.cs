using System.Globalization;
using System.Text;
using Confluent.Kafka;
using OrleansKafka.Kafka;

namespace OrleansKafka.Processing.Failures;

/// <summary>
/// Writes failed records to dead-letter topics: key, value, timestamp and headers unchanged,
/// plus headers that say why and where from. One producer per silo, created at first use.
/// </summary>
internal sealed class DeadLetterWriter(IKafkaConnection connection) : IDisposable
{
    /// <summary>Header names added to a dead-lettered record.</summary>
    public const string ErrorType = "x-dlq-error-type";

    public const string ErrorMessage = "x-dlq-error-message";

    public const string SourceTopic = "x-dlq-source-topic";

    public const string SourcePartition = "x-dlq-source-partition";

    public const string SourceOffset = "x-dlq-source-offset";

    public const string Attempts = "x-dlq-attempts";

    public const string ConsumerGroup = "x-dlq-consumer-group";

    private readonly Lazy<IProducer<byte[], byte[]>> _producer = new(() => new ProducerBuilder<byte[], byte[]>(
        connection.ClientSettings(new Dictionary<string, string>
        {
            // Acknowledged by every in-sync replica before the source offset moves past the record.
            ["acks"] = "all",
            ["enable.idempotence"] = "true",
            ["linger.ms"] = "0",
        })).Build());

    /// <summary>Writes the record and completes once Kafka has acknowledged it.</summary>
    /// <exception cref="ProduceException{TKey, TValue}">Kafka refused it (for example, the topic does not exist).</exception>
    public async Task WriteAsync(string topic, ConsumeResult<byte[], byte[]> record, string group, Exception error, int attempts, CancellationToken cancellationToken)
    {
        var headers = new Headers();
        foreach (var header in record.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add(ErrorType, Encoding.UTF8.GetBytes(RecordFailure.CauseTypeName(error)));
        headers.Add(ErrorMessage, Encoding.UTF8.GetBytes(error.Message));
        headers.Add(SourceTopic, Encoding.UTF8.GetBytes(record.Topic));
        headers.Add(SourcePartition, Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(SourceOffset, Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(Attempts, Encoding.UTF8.GetBytes(attempts.ToString(CultureInfo.InvariantCulture)));
        headers.Add(ConsumerGroup, Encoding.UTF8.GetBytes(group));
        await _producer.Value.ProduceAsync(
            topic,
            new Message<byte[], byte[]> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers, Timestamp = record.Message.Timestamp },
            cancellationToken);
    }

    public void Dispose()
    {
        if (_producer.IsValueCreated)
        {
            _producer.Value.Flush(TimeSpan.FromSeconds(5));
            _producer.Value.Dispose();
        }
    }
}
