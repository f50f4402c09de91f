using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// A partition feed's fetched records while they wait for the pump, packed one after another in
/// blocks of native memory rather than kept as the client's objects. The client's objects for a
/// record cost about 500 bytes beyond its key and value, and records wait long enough to be
/// promoted and collected as old garbage, so a managed buffer took three to four times its live
/// size in the heap. Packed, a record costs its bytes plus 32, freed exactly when it is taken.
/// The pump takes records back as new client objects, which live only until their delivery is
/// processed.
/// </summary>
/// <remarks>
/// Not thread-safe: the feed calls it under its lock. Blocks start at 4 KiB and double while the
/// buffer grows, up to 1 MiB or the largest size the caller allows (a record larger than that
/// gets a block of its own size); a block is freed as soon as the pump has taken its last record.
/// </remarks>
internal sealed class RecordBuffer : IDisposable
{
    /// <summary>The first block's size, and the least a caller can limit blocks to.</summary>
    public const int FirstBlockBytes = 4 << 10;

    /// <summary>The largest block.</summary>
    public const int LargestBlockBytes = 1 << 20;

    // Per record: offset, timestamp (ms), timestamp type, key length, value length, header count.
    private const int RecordHeaderBytes = 8 + 8 + 4 + 4 + 4 + 4;
    private const int Absent = -1;

    private readonly Queue<Block> _blocks = new();
    private Block? _tail;
    private int _readPosition;
    private int _nextBlockBytes = FirstBlockBytes;
    private byte[] _scratch = [];

    /// <summary>Records held.</summary>
    public int Count { get; private set; }

    /// <summary>Native memory held: the blocks' whole size, used or not.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Copies a record in.</summary>
    /// <param name="record">The record.</param>
    /// <param name="largestBlock">The largest block to allocate for it unless it is larger itself.</param>
    /// <returns>The native bytes newly allocated for it (0 when it fit in the last block).</returns>
    public long Add(ConsumeResult<byte[], byte[]> record, int largestBlock = LargestBlockBytes)
    {
        var message = record.Message;
        var size = RecordHeaderBytes + (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        var headers = message.Headers;
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                size += 8 + Encoding.UTF8.GetByteCount(header.Key) + (header.GetValueBytes()?.Length ?? 0);
            }
        }

        long allocated = 0;
        if (_tail is null || _tail.Capacity - _tail.Written < size)
        {
            allocated = AddBlock(size, Math.Clamp(largestBlock, FirstBlockBytes, LargestBlockBytes));
        }

        var block = _tail!;
        var at = block.Pointer + block.Written;
        Marshal.WriteInt64(at, record.Offset.Value);
        Marshal.WriteInt64(at, 8, message.Timestamp.UnixTimestampMs);
        Marshal.WriteInt32(at, 16, (int)message.Timestamp.Type);
        Marshal.WriteInt32(at, 20, message.Key?.Length ?? Absent);
        Marshal.WriteInt32(at, 24, message.Value?.Length ?? Absent);
        Marshal.WriteInt32(at, 28, headers?.Count ?? Absent);
        var position = RecordHeaderBytes;
        position += WriteBytes(at + position, message.Key);
        position += WriteBytes(at + position, message.Value);
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                var keyLength = Encoding.UTF8.GetByteCount(header.Key);
                if (_scratch.Length < keyLength)
                {
                    _scratch = new byte[Math.Max(keyLength, 64)];
                }

                Encoding.UTF8.GetBytes(header.Key, _scratch);
                Marshal.WriteInt32(at + position, keyLength);
                Marshal.Copy(_scratch, 0, at + position + 4, keyLength);
                position += 4 + keyLength;
                var value = header.GetValueBytes();
                Marshal.WriteInt32(at + position, value?.Length ?? Absent);
                position += 4 + WriteBytes(at + position + 4, value);
            }
        }

        block.Written += position;
        Count++;
        return allocated;
    }

    /// <summary>Takes up to <paramref name="max"/> of the oldest records as the client's objects.</summary>
    /// <returns>The records, and the native bytes freed by taking them.</returns>
    public (List<ConsumeResult<byte[], byte[]>> Records, long Freed) Take(int max, string topic, int partition)
    {
        var records = new List<ConsumeResult<byte[], byte[]>>(Math.Min(max, Count));
        long freed = 0;
        while (records.Count < max && _blocks.TryPeek(out var block))
        {
            if (_readPosition == block.Written)
            {
                if (block == _tail)
                {
                    break;
                }

                freed += Free(_blocks.Dequeue());
                _readPosition = 0;
                continue;
            }

            records.Add(Read(block, topic, partition));
        }

        if (_blocks.TryPeek(out var head) && _readPosition == head.Written && _blocks.Count == 1)
        {
            // Empty: give the memory back, and start small again.
            freed += Free(_blocks.Dequeue());
            _tail = null;
            _readPosition = 0;
            _nextBlockBytes = FirstBlockBytes;
        }

        Count -= records.Count;
        return (records, freed);
    }

    /// <summary>Drops every record.</summary>
    /// <returns>The native bytes freed.</returns>
    public long Clear()
    {
        long freed = 0;
        while (_blocks.TryDequeue(out var block))
        {
            freed += Free(block);
        }

        _tail = null;
        _readPosition = 0;
        _nextBlockBytes = FirstBlockBytes;
        Count = 0;
        return freed;
    }

    public void Dispose() => Clear();

    private ConsumeResult<byte[], byte[]> Read(Block block, string topic, int partition)
    {
        var at = block.Pointer + _readPosition;
        var offset = Marshal.ReadInt64(at);
        var timestamp = new Timestamp(Marshal.ReadInt64(at, 8), (TimestampType)Marshal.ReadInt32(at, 16));
        var keyLength = Marshal.ReadInt32(at, 20);
        var valueLength = Marshal.ReadInt32(at, 24);
        var headerCount = Marshal.ReadInt32(at, 28);
        var position = RecordHeaderBytes;
        var key = ReadBytes(at + position, keyLength);
        position += Math.Max(keyLength, 0);
        var value = ReadBytes(at + position, valueLength);
        position += Math.Max(valueLength, 0);
        Headers? headers = null;
        if (headerCount != Absent)
        {
            headers = [];
            for (var i = 0; i < headerCount; i++)
            {
                var nameLength = Marshal.ReadInt32(at + position);
                var name = Marshal.PtrToStringUTF8(at + position + 4, nameLength);
                position += 4 + nameLength;
                var length = Marshal.ReadInt32(at + position);
                headers.Add(name, ReadBytes(at + position + 4, length));
                position += 4 + Math.Max(length, 0);
            }
        }

        _readPosition += position;
        return new ConsumeResult<byte[], byte[]>
        {
            Topic = topic,
            Partition = partition,
            Offset = offset,
            Message = new Message<byte[], byte[]> { Key = key!, Value = value!, Timestamp = timestamp, Headers = headers },
        };
    }

    private long AddBlock(int recordBytes, int largestBlock)
    {
        var capacity = Math.Max(recordBytes, Math.Min(_nextBlockBytes, largestBlock));
        _nextBlockBytes = Math.Min(_nextBlockBytes * 2, largestBlock);
        var block = new Block(Marshal.AllocHGlobal(capacity), capacity);
        _blocks.Enqueue(block);
        _tail = block;
        AllocatedBytes += capacity;
        return capacity;
    }

    private long Free(Block block)
    {
        Marshal.FreeHGlobal(block.Pointer);
        AllocatedBytes -= block.Capacity;
        return block.Capacity;
    }

    private static int WriteBytes(IntPtr at, byte[]? bytes)
    {
        if (bytes is null || bytes.Length == 0)
        {
            return 0;
        }

        Marshal.Copy(bytes, 0, at, bytes.Length);
        return bytes.Length;
    }

    private static byte[]? ReadBytes(IntPtr at, int length)
    {
        if (length == Absent)
        {
            return null;
        }

        var bytes = GC.AllocateUninitializedArray<byte>(length);
        Marshal.Copy(at, bytes, 0, length);
        return bytes;
    }

    private sealed class Block(IntPtr pointer, int capacity)
    {
        public IntPtr Pointer { get; } = pointer;

        public int Capacity { get; } = capacity;

        public int Written { get; set; }
    }
}
