using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrleansKafka.Kafka;

namespace OrleansKafka.Streams;

/// <summary>
/// Writes stream items to Kafka: the topic is the stream's namespace, the key its key; a byte[]
/// item is written as it is, a string as UTF-8, anything else as JSON (System.Text.Json, web
/// defaults). Acknowledged by every in-sync replica before the call completes.
/// </summary>
internal sealed class KafkaStreamProducer(IKafkaConnection kafka) : IDisposable
{
    private readonly Lazy<IProducer<byte[], byte[]>> _producer = new(() => new ProducerBuilder<byte[], byte[]>(kafka.ClientSettings(new Dictionary<string, string>
    {
        ["acks"] = "all",
        ["enable.idempotence"] = "true",
        ["linger.ms"] = "5",
    })).Build());

    public async Task ProduceAsync<T>(StreamId stream, T item)
    {
        var topic = stream.GetNamespace() ?? throw new ArgumentException($"Stream '{stream}' has no namespace; a Kafka stream's namespace is the topic to write to.", nameof(stream));
        byte[]? value = item switch
        {
            null => null,
            byte[] bytes => bytes,
            string text => Encoding.UTF8.GetBytes(text),
            _ => JsonSerializer.SerializeToUtf8Bytes(item, JsonSerializerOptions.Web),
        };
        await _producer.Value.ProduceAsync(topic, new Message<byte[], byte[]> { Key = stream.Key.ToArray(), Value = value! });
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
