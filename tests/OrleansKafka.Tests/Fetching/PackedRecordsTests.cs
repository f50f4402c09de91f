using Confluent.Kafka;
using OrleansKafka.Delivery;
using OrleansKafka.Fetching;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Fetching;

/// <summary>A delivery's records, packed, and built into the client's objects as they are read.</summary>
public sealed class PackedRecordsTests
{
    [Fact]
    public void ARecordIsBuiltWhenRead_OnceForRepeatedReads_AndItsOffsetIsReadWithoutBuildingIt()
    {
        var records = Take(Enumerable.Range(100, 5).Select(offset => Record(offset, new byte[10])));

        Assert.Equal([100L, 101, 102, 103, 104], Enumerable.Range(0, records.Count).Select(records.OffsetAt));
        var first = records[2];
        Assert.Same(first, records[2]);
        Assert.Equal(102, RecordOffsets.OffsetAt(records, 2));

        var other = records[3];
        var again = records[2];
        Assert.NotSame(first, again);
        Assert.Equal(first.Offset, again.Offset);
        Assert.Equal(first.Message.Value, again.Message.Value);
        Assert.Equal(103, other.Offset.Value);
    }

    [Fact]
    public void Chunks_StayUnderTheLargeObjectHeap_ExceptForARecordThatIsLargerItself_AndALargeRecordTakesOnlyItsOwnSize()
    {
        var values = Enumerable.Range(0, 1_000).Select(i => new byte[i switch { 500 => 100_000, 700 or 701 => 40_000, _ => 1_000 }]).ToList();
        var records = Take(values.Select((value, i) => Record(i, value)));

        Assert.Equal(1_000, records.Count);
        Assert.Equal(values.Select(v => v.Length), records.Select(r => r.Message.Value.Length));
        Assert.Single(records.Chunks, chunk => chunk.Length > PackedRecords.ChunkBytes);

        // More than half a chunk that does not fit in the current one (the second of two): a chunk
        // of its own size (header, 8-byte key, value), not a whole one.
        Assert.Contains(records.Chunks, chunk => chunk.Length == RecordBuffer.RecordHeaderBytes + 8 + 40_000);
        Assert.All(records.Chunks.Where(chunk => chunk.Length <= PackedRecords.ChunkBytes), chunk => Assert.NotEqual(2, GC.GetGeneration(chunk)));
        Assert.True(records.Bytes >= values.Sum(v => v.Length), $"{records.Bytes} bytes of chunks for {values.Sum(v => v.Length)} bytes of values");
    }

    private static PackedRecords Take(IEnumerable<ConsumeResult<byte[], byte[]>> records)
    {
        using var buffer = new RecordBuffer();
        foreach (var record in records)
        {
            buffer.AddClientRecord(record);
        }

        return buffer.Take(int.MaxValue, "orders", 1).Records;
    }

    private static ConsumeResult<byte[], byte[]> Record(long offset, byte[] value) => new()
    {
        Topic = "orders",
        Partition = 1,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = BitConverter.GetBytes(offset), Value = value, Timestamp = Timestamp.Default },
    };
}
