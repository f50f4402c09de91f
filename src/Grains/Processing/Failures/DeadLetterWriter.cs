using System.Globalization;
using System.Text;
using Confluent.Kafka;
using OrleansKafka.Kafka;

namespace OrleansKafka.Processing.Failures;

/// <summary>
/// Writes failed records to dead-letter topics: key, value, timestamp and headers unchanged,
/// plus the <see cref="DeadLetterHeaders"/> that say why and where from. One producer per silo, created at first use.
/// </summary>
internal sealed class DeadLetterWriter(IKafkaConnection connection) : IDisposable
{
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

        headers.Add(DeadLetterHeaders.ErrorType, Encoding.UTF8.GetBytes(RecordFailure.CauseTypeName(error)));
        headers.Add(DeadLetterHeaders.ErrorMessage, Encoding.UTF8.GetBytes(error.Message));
        headers.Add(DeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes(record.Topic));
        headers.Add(DeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.Attempts, Encoding.UTF8.GetBytes(attempts.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.ConsumerGroup, Encoding.UTF8.GetBytes(group));
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
