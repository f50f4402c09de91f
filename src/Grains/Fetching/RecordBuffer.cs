using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// A partition feed's fetched records while they wait for the pump, packed one after another in
/// blocks of native memory rather than kept as the client's objects. The client's objects for a
/// record cost about 500 bytes beyond its key and value, and records wait long enough to be
/// promoted and collected as old garbage, so a managed buffer took three to four times its live
/// size in the heap. Packed, a record costs its bytes plus 36, freed exactly when it is taken.
/// The pump takes them out still packed, into managed chunks (<see cref="PackedRecords"/>), and
/// the partition grain turns each into the client's objects just before processing it.
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

    /// <summary>Per record: offset, timestamp (ms), timestamp type, key length, value length, header count, and the record's whole size.</summary>
    internal const int RecordHeaderBytes = 8 + 8 + 4 + 4 + 4 + 4 + 4;

    /// <summary>The length written for a null key, value or header value, and the header count of a record without headers.</summary>
    internal const int Absent = -1;

    private readonly Queue<Block> _blocks = new();
    private Block? _tail;
    private int _readPosition;
    private int _nextBlockBytes = FirstBlockBytes;

    /// <summary>Records held.</summary>
    public int Count { get; private set; }

    /// <summary>Native memory held: the blocks' whole size, used or not.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Copies a record in.</summary>
    /// <param name="record">The record.</param>
    /// <param name="largestBlock">The largest block to allocate for it unless it is larger itself.</param>
    /// <returns>The native bytes newly allocated for it (0 when it fit in the last block).</returns>
    public unsafe long Add<TRecord>(in TRecord record, int largestBlock = LargestBlockBytes)
        where TRecord : struct, IFetchedRecord
    {
        var headerCount = record.HeaderCount;
        var size = RecordHeaderBytes + record.Key.Length + record.Value.Length;
        for (var i = 0; i < headerCount; i++)
        {
            record.Header(i, out var name, out var value, out _);
            size += 8 + name.Length + value.Length;
        }

        long allocated = 0;
        if (_tail is null || _tail.Capacity - _tail.Written < size)
        {
            allocated = AddBlock(size, Math.Clamp(largestBlock, FirstBlockBytes, LargestBlockBytes));
        }

        var block = _tail!;
        var at = (byte*)(block.Pointer + block.Written);
        var span = new Span<byte>(at, size);
        MemoryMarshal.Write(span, record.Offset);
        MemoryMarshal.Write(span[8..], record.TimestampMs);
        MemoryMarshal.Write(span[16..], (int)record.TimestampType);
        MemoryMarshal.Write(span[20..], (int)(record.HasKey ? record.Key.Length : Absent));
        MemoryMarshal.Write(span[24..], (int)(record.HasValue ? record.Value.Length : Absent));
        MemoryMarshal.Write(span[28..], headerCount);
        MemoryMarshal.Write(span[32..], size);
        var position = RecordHeaderBytes;
        position += Write(span[position..], record.Key);
        position += Write(span[position..], record.Value);
        for (var i = 0; i < headerCount; i++)
        {
            record.Header(i, out var name, out var value, out var hasValue);
            MemoryMarshal.Write(span[position..], name.Length);
            position += 4 + Write(span[(position + 4)..], name);
            MemoryMarshal.Write(span[position..], (int)(hasValue ? value.Length : Absent));
            position += 4 + Write(span[(position + 4)..], value);
        }

        block.Written += position;
        Count++;
        return allocated;
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> of the oldest records, copied still packed into managed
    /// chunks (the pump hands them over as a delivery).
    /// </summary>
    /// <returns>The records, and the native bytes freed by taking them.</returns>
    public (PackedRecords Records, long Freed) Take(int max, string topic, int partition)
    {
        var count = Math.Min(max, Count);

        // First the bytes they take, so that the chunks are allocated at the size they fill.
        long remaining = 0;
        var (block, position, left) = (0, _readPosition, count);
        foreach (var each in _blocks)
        {
            if (block++ > 0)
            {
                position = 0;
            }

            for (; left > 0 && position < each.Written; left--)
            {
                var size = SizeAt(each.Pointer + position);
                remaining += size;
                position += size;
            }

            if (left == 0)
            {
                break;
            }
        }

        var locations = new long[count];
        var chunks = new List<byte[]>(1 + (int)(remaining / PackedRecords.ChunkBytes));
        byte[]? chunk = null;
        var written = 0;
        long freed = 0;
        for (var taken = 0; taken < count;)
        {
            var head = _blocks.Peek();
            if (_readPosition == head.Written)
            {
                freed += Free(_blocks.Dequeue());
                _readPosition = 0;
                continue;
            }

            var at = head.Pointer + _readPosition;
            var size = SizeAt(at);
            if (chunk is null || chunk.Length - written < size)
            {
                // A record of more than half a chunk gets a chunk of its own size, so that records
                // of 33-64 KiB do not leave most of a chunk each unused.
                var capacity = size > PackedRecords.ChunkBytes / 2 ? size : (int)Math.Min(remaining, PackedRecords.ChunkBytes);
                chunk = GC.AllocateUninitializedArray<byte>(capacity);
                chunks.Add(chunk);
                written = 0;
            }

            Marshal.Copy(at, chunk, written, size);
            locations[taken++] = ((long)(chunks.Count - 1) << 32) | (uint)written;
            written += size;
            remaining -= size;
            _readPosition += size;
        }

        Count -= count;
        if (_blocks.TryPeek(out var first) && _readPosition == first.Written && _blocks.Count == 1)
        {
            // Empty: give the memory back, and start small again.
            freed += Clear();
        }

        return (new PackedRecords(topic, partition, [.. chunks], locations), freed);
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

    /// <summary>The fixed part of a packed record.</summary>
    internal static (long Offset, Timestamp Timestamp, int KeyLength, int ValueLength, int HeaderCount) ReadHeader(ReadOnlySpan<byte> packed) => (
        MemoryMarshal.Read<long>(packed),
        new Timestamp(MemoryMarshal.Read<long>(packed[8..]), (TimestampType)MemoryMarshal.Read<int>(packed[16..])),
        MemoryMarshal.Read<int>(packed[20..]),
        MemoryMarshal.Read<int>(packed[24..]),
        MemoryMarshal.Read<int>(packed[28..]));

    private static int SizeAt(IntPtr record) => Marshal.ReadInt32(record, 32);

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

    private static int Write(Span<byte> to, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(to);
        return bytes.Length;
    }

    private sealed class Block(IntPtr pointer, int capacity)
    {
        public IntPtr Pointer { get; } = pointer;

        public int Capacity { get; } = capacity;

        public int Written { get; set; }
    }
}
