using System.Runtime.InteropServices;
using Confluent.Kafka;
using OrleansKafka.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// A record read straight from a librdkafka message (<c>rd_kafka_message_t</c>), valid until the
/// message is destroyed. Confluent.Kafka's <c>Consume</c> makes six objects of every message
/// (result, message, key and value arrays, headers, topic name) and marshals the message
/// structure by reflection; the fetch workers copy each record into their buffers at once and
/// drop the message, so they read it in place instead.
/// </summary>
internal readonly unsafe struct LibrdkafkaRecord : IFetchedRecord
{
    private readonly LibrdkafkaNative.Functions _api;
    private readonly LibrdkafkaNative.Message* _message;
    private readonly IntPtr _headers;

    public LibrdkafkaRecord(LibrdkafkaNative.Functions api, LibrdkafkaNative.Message* message)
    {
        _api = api;
        _message = message;
        int type;
        TimestampMs = api.MessageTimestamp(message, &type);
        TimestampType = (TimestampType)type;
        IntPtr headers;
        _headers = api.MessageHeaders(message, &headers) == 0 ? headers : IntPtr.Zero;

        // As Confluent.Kafka reads them: a record without headers has an empty list, not none.
        HeaderCount = _headers == IntPtr.Zero ? 0 : (int)api.HeaderCount(_headers);
    }

    public long Offset => _message->Offset;

    public long TimestampMs { get; }

    public TimestampType TimestampType { get; }

    public bool HasKey => _message->Key != IntPtr.Zero;

    public ReadOnlySpan<byte> Key => new((void*)_message->Key, checked((int)_message->KeyLength));

    public bool HasValue => _message->Payload != IntPtr.Zero;

    public ReadOnlySpan<byte> Value => new((void*)_message->Payload, checked((int)_message->Length));

    public int HeaderCount { get; }

    public void Header(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out bool hasValue)
    {
        byte* namePointer;
        byte* valuePointer;
        nuint size;
        var error = _api.HeaderGetAll(_headers, (nuint)index, &namePointer, &valuePointer, &size);
        if (error != 0)
        {
            throw new InvalidOperationException($"librdkafka has no header {index} of the {HeaderCount} of the record at offset {Offset} (error code {error}).");
        }

        name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(namePointer);
        hasValue = valuePointer is not null;
        value = hasValue ? new ReadOnlySpan<byte>(valuePointer, checked((int)size)) : default;
    }
}
