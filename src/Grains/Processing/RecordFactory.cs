using Confluent.Kafka;

namespace OrleansKafka.Processing;

internal static class RecordFactory
{
    public static KafkaRecord<TKey, TValue> Create<TKey, TValue>(
        ConsumeResult<byte[], byte[]> result, RecordDecoder<TKey> keys, RecordDecoder<TValue> values, string group, long epoch)
    {
        var message = result.Message;
        var topic = result.Topic;
        var headers = message.Headers;
        return new KafkaRecord<TKey, TValue>(
            keys.Decode(message.Key, topic, headers, MessageComponentType.Key),
            values.Decode(message.Value, topic, headers, MessageComponentType.Value),
            new RecordContext(group, topic, result.Partition.Value, result.Offset.Value, message.Timestamp, headers, epoch));
    }
}
