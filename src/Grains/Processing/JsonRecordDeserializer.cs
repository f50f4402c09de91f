using System.Text.Json;
using Confluent.Kafka;

namespace OrleansKafka.Processing;

/// <summary>Deserializes JSON keys and values with System.Text.Json; a null record part becomes default.</summary>
public sealed class JsonRecordDeserializer<T>(JsonSerializerOptions options) : IDeserializer<T>
{
    /// <inheritdoc />
    public T Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return default!;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(data, options)!;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException(
                $"The {context.Component.ToString().ToLowerInvariant()} of a record on topic '{context.Topic}' is not JSON for {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
