using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// A record as Confluent.Kafka's <c>Consume</c> returns it: the fetch workers' way to read when
/// this Confluent.Kafka does not expose the librdkafka handle that reading in place
/// (<see cref="LibrdkafkaRecord"/>) needs. Slower (the client makes its objects of every
/// record), never different.
/// </summary>
internal readonly struct ConsumedRecord(ConsumeResult<byte[], byte[]> result) : IFetchedRecord
{
    private readonly Message<byte[], byte[]> _message = result.Message;

    public long Offset { get; } = result.Offset.Value;

    public long TimestampMs => _message.Timestamp.UnixTimestampMs;

    public TimestampType TimestampType => _message.Timestamp.Type;

    public bool HasKey => _message.Key is not null;

    public ReadOnlySpan<byte> Key => _message.Key;

    public bool HasValue => _message.Value is not null;

    public ReadOnlySpan<byte> Value => _message.Value;

    public int HeaderCount => _message.Headers?.Count ?? 0;

    public void Header(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out bool hasValue)
    {
        var header = _message.Headers[index];
        name = Encoding.UTF8.GetBytes(header.Key);
        var bytes = header.GetValueBytes();
        hasValue = bytes is not null;
        value = bytes;
    }
}
