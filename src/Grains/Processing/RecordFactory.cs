using Confluent.Kafka;

namespace OrleansKafka.Processing;

internal static class RecordFactory
{
    /// <exception cref="UnprocessableRecordException">The key or value does not deserialize.</exception>
    public static KafkaRecord<TKey, TValue> Create<TKey, TValue>(
        ConsumeResult<byte[], byte[]> result, RecordDecoder<TKey> keys, RecordDecoder<TValue> values, string group, long epoch)
    {
        var message = result.Message;
        var headers = message.Headers;
        return new KafkaRecord<TKey, TValue>(
            Decode(keys, message.Key, result, MessageComponentType.Key),
            Decode(values, message.Value, result, MessageComponentType.Value),
            new RecordContext(group, result.Topic, result.Partition.Value, result.Offset.Value, message.Timestamp, headers, epoch));
    }

    /// <summary>The deserialized value alone.</summary>
    /// <exception cref="UnprocessableRecordException">The value does not deserialize.</exception>
    public static TValue Value<TValue>(ConsumeResult<byte[], byte[]> result, RecordDecoder<TValue> values) =>
        Decode(values, result.Message.Value, result, MessageComponentType.Value);

    private static T Decode<T>(RecordDecoder<T> decoder, byte[]? data, ConsumeResult<byte[], byte[]> result, MessageComponentType component)
    {
        try
        {
            return decoder.Decode(data, result.Topic, result.Message.Headers, component);
        }
        catch (Exception ex)
        {
            // Trying again cannot help: the bytes stay the same.
            throw new UnprocessableRecordException(
                $"The {(component == MessageComponentType.Key ? "key" : "value")} of {result.Topic}/{result.Partition.Value} offset {result.Offset.Value} does not deserialize to {typeof(T).Name}: {ex.Message}",
                ex);
        }
    }
}
