using System.Collections;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using OrleansKafka.Delivery;

namespace OrleansKafka.Fetching;

/// <summary>
/// The records of one delivery, still packed (in <see cref="RecordBuffer"/>'s layout) in a few
/// managed chunks, and turned into the client's objects one at a time as they are read.
/// </summary>
/// <remarks>
/// A delivery lives until its last record is processed. Built up front, its records would be
/// thousands of small objects that outlive a collection or two and get promoted, and collecting
/// older generations is dear. Read one at a time, a record's objects die young: they live only
/// while it is processed.
/// Chunks stay under the large object heap's threshold, so a delivery never allocates there
/// unless a single record is that large. Reading the same index twice in a row returns the same
/// objects; reading it again later builds new, equal ones.
/// </remarks>
internal sealed class PackedRecords : IReadOnlyList<ConsumeResult<byte[], byte[]>>, IOffsetIndexed
{
    /// <summary>The largest chunk, under the 85,000 bytes from which arrays go to the large object heap.</summary>
    public const int ChunkBytes = 64 << 10;

    private readonly string _topic;
    private readonly int _partition;
    private readonly byte[][] _chunks;

    // Per record: its chunk in the upper 32 bits, its position in that chunk in the lower.
    private readonly long[] _locations;
    private ConsumeResult<byte[], byte[]>? _last;

    /// <summary>A delivery without records: the feed's answer to an operator's decision about a held key while no record comes.</summary>
    public static PackedRecords Empty(string topic, int partition) => new(topic, partition, [], []);

    internal PackedRecords(string topic, int partition, byte[][] chunks, long[] locations)
    {
        _topic = topic;
        _partition = partition;
        _chunks = chunks;
        _locations = locations;
    }

    public int Count => _locations.Length;

    /// <summary>The chunks the records are packed in.</summary>
    internal IReadOnlyList<byte[]> Chunks => _chunks;

    /// <summary>The managed bytes the packed records take.</summary>
    public long Bytes
    {
        get
        {
            long bytes = 0;
            foreach (var chunk in _chunks)
            {
                bytes += chunk.Length;
            }

            return bytes;
        }
    }

    public ConsumeResult<byte[], byte[]> this[int index]
    {
        get
        {
            var last = _last;
            if (last is not null && last.Offset.Value == OffsetAt(index))
            {
                return last;
            }

            last = Read(index);
            _last = last;
            return last;
        }
    }

    /// <summary>The offset of record <paramref name="index"/>, read without building the record.</summary>
    public long OffsetAt(int index) => MemoryMarshal.Read<long>(Packed(index));

    public IEnumerator<ConsumeResult<byte[], byte[]>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private ReadOnlySpan<byte> Packed(int index)
    {
        var location = _locations[index];
        return _chunks[(int)(location >> 32)].AsSpan((int)location);
    }

    private ConsumeResult<byte[], byte[]> Read(int index)
    {
        var packed = Packed(index);
        var header = RecordBuffer.ReadHeader(packed);
        var position = RecordBuffer.RecordHeaderBytes;
        var key = ReadBytes(packed, ref position, header.KeyLength);
        var value = ReadBytes(packed, ref position, header.ValueLength);
        Headers? headers = null;
        if (header.HeaderCount != RecordBuffer.Absent)
        {
            headers = [];
            for (var i = 0; i < header.HeaderCount; i++)
            {
                var nameLength = MemoryMarshal.Read<int>(packed[position..]);
                var name = Encoding.UTF8.GetString(packed.Slice(position + 4, nameLength));
                position += 4 + nameLength;
                var length = MemoryMarshal.Read<int>(packed[position..]);
                position += 4;
                headers.Add(name, ReadBytes(packed, ref position, length));
            }
        }

        return new ConsumeResult<byte[], byte[]>
        {
            Topic = _topic,
            Partition = _partition,
            Offset = header.Offset,
            Message = new Message<byte[], byte[]> { Key = key!, Value = value!, Timestamp = header.Timestamp, Headers = headers },
        };
    }

    private static byte[]? ReadBytes(ReadOnlySpan<byte> packed, ref int position, int length)
    {
        if (length == RecordBuffer.Absent)
        {
            return null;
        }

        var bytes = packed.Slice(position, length).ToArray();
        position += length;
        return bytes;
    }
}
