using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansKafka.Processing;

/// <summary>Turns the raw bytes of a key or value into the type a processor asked for.</summary>
internal abstract class RecordDecoder<T>
{
    public abstract T Decode(byte[]? data, string topic, Headers? headers, MessageComponentType component);

    /// <summary>
    /// A registered <see cref="IDeserializer{T}"/> wins; otherwise byte[] is passed through
    /// without a copy, string is UTF-8 and anything else is System.Text.Json.
    /// </summary>
    public static RecordDecoder<T> Create(IServiceProvider services)
    {
        if (services.GetService<IDeserializer<T>>() is { } registered)
        {
            return new DeserializerDecoder(registered);
        }

        if (typeof(T) == typeof(byte[]))
        {
            return (RecordDecoder<T>)(object)new BytesDecoder();
        }

        if (typeof(T) == typeof(string))
        {
            return new DeserializerDecoder((IDeserializer<T>)Deserializers.Utf8);
        }

        var json = services.GetService<JsonSerializerOptions>() ?? JsonSerializerOptions.Web;
        return new DeserializerDecoder(new JsonRecordDeserializer<T>(json));
    }

    private sealed class BytesDecoder : RecordDecoder<byte[]?>
    {
        public override byte[]? Decode(byte[]? data, string topic, Headers? headers, MessageComponentType component) => data;
    }

    private sealed class DeserializerDecoder(IDeserializer<T> deserializer) : RecordDecoder<T>
    {
        public override T Decode(byte[]? data, string topic, Headers? headers, MessageComponentType component) =>
            deserializer.Deserialize(data, data is null, new SerializationContext(component, topic, headers));
    }
}
