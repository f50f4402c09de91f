using System.Text;
using Confluent.Kafka;
using OrleansKafka.Fetching;

namespace OrleansKafka.Tests.Support;

/// <summary>Client records as fetched records, so that buffer tests can build their input with Confluent.Kafka's types.</summary>
internal static class ClientRecords
{
    /// <summary>Copies a client record into the buffer, as a fetch worker copies a librdkafka message.</summary>
    public static long AddClientRecord(this RecordBuffer buffer, ConsumeResult<byte[], byte[]> record, int largestBlock = RecordBuffer.LargestBlockBytes) =>
        buffer.Add(new ClientRecord(record), largestBlock);

    /// <summary>Appends a client record to a partition's buffer, as its fetch worker appends a librdkafka message.</summary>
    public static bool AppendClientRecord(this PartitionBuffer buffer, ConsumeResult<byte[], byte[]> record) =>
        buffer.Append(new ClientRecord(record));

    private readonly struct ClientRecord(ConsumeResult<byte[], byte[]> record) : IFetchedRecord
    {
        private readonly IReadOnlyList<(byte[] Name, byte[]? Value)>? _headers =
            record.Message.Headers?.Select(h => (Encoding.UTF8.GetBytes(h.Key), (byte[]?)h.GetValueBytes())).ToList();

        public long Offset => record.Offset.Value;

        public long TimestampMs => record.Message.Timestamp.UnixTimestampMs;

        public TimestampType TimestampType => record.Message.Timestamp.Type;

        public bool HasKey => record.Message.Key is not null;

        public ReadOnlySpan<byte> Key => record.Message.Key;

        public bool HasValue => record.Message.Value is not null;

        public ReadOnlySpan<byte> Value => record.Message.Value;

        public int HeaderCount => _headers?.Count ?? RecordBuffer.Absent;

        public void Header(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out bool hasValue)
        {
            var (nameBytes, bytes) = _headers![index];
            name = nameBytes;
            value = bytes;
            hasValue = bytes is not null;
        }
    }
}
