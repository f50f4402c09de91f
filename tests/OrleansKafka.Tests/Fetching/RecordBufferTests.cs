using System.Text;
using Confluent.Kafka;
using OrleansKafka.Fetching;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Fetching;

/// <summary>The packed buffer a partition feed keeps its fetched records in.</summary>
public sealed class RecordBufferTests
{
    [Fact]
    public void RecordsComeBackAsTheyWentIn_KeysValuesHeadersTimestampsAndNulls()
    {
        using var buffer = new RecordBuffer();
        var headers = new Headers { { "x-source", Encoding.UTF8.GetBytes("orders") }, { "ünïcode-name", [] }, { "tombstone", null! } };
        var records = new[]
        {
            Record(10, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("value"), new Timestamp(1_700_000_000_123, TimestampType.CreateTime), headers),
            Record(11, null, null, new Timestamp(1_700_000_000_124, TimestampType.LogAppendTime), null),
            Record(12, [], [], Timestamp.Default, []),
        };
        foreach (var record in records)
        {
            buffer.AddClientRecord(record);
        }

        var (taken, _) = buffer.Take(10, "orders", 3);

        Assert.Equal(3, taken.Count);
        for (var i = 0; i < records.Length; i++)
        {
            var (expected, actual) = (records[i], taken[i]);
            Assert.Equal(("orders", 3, expected.Offset.Value), (actual.Topic, actual.Partition.Value, actual.Offset.Value));
            Assert.Equal(expected.Message.Key, actual.Message.Key);
            Assert.Equal(expected.Message.Value, actual.Message.Value);
            Assert.Equal(expected.Message.Timestamp, actual.Message.Timestamp);
            Assert.Equal(
                expected.Message.Headers?.Select(h => (h.Key, h.GetValueBytes())),
                actual.Message.Headers?.Select(h => (h.Key, h.GetValueBytes())));
        }
    }

    [Fact]
    public void TakingInParts_KeepsOffsetOrderAcrossBlocks_AndFreesEveryBlockOnceEmpty()
    {
        using var buffer = new RecordBuffer();
        long allocated = 0;
        for (var offset = 0; offset < 5_000; offset++)
        {
            // Sizes from none to 3 KiB, and one record larger than the largest block.
            var value = new byte[offset == 2_500 ? 3 << 20 : offset % 3_000];
            value.AsSpan().Fill((byte)offset);
            allocated += buffer.AddClientRecord(Record(offset, BitConverter.GetBytes(offset), value, Timestamp.Default, null));
        }

        Assert.Equal(allocated, buffer.AllocatedBytes);
        Assert.True(allocated > 3 << 20, $"{allocated} bytes were allocated for more than 10 MiB of records");

        var offsets = new List<long>();
        long freed = 0;
        while (buffer.Count > 0)
        {
            var (taken, released) = buffer.Take(333, "t", 0);
            freed += released;
            foreach (var record in taken)
            {
                var offset = (int)record.Offset.Value;
                Assert.Equal(offset, BitConverter.ToInt32(record.Message.Key));
                Assert.Equal(offset == 2_500 ? 3 << 20 : offset % 3_000, record.Message.Value.Length);
                Assert.All(record.Message.Value, b => Assert.Equal((byte)offset, b));
                offsets.Add(offset);
            }
        }

        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => (long)i), offsets);
        Assert.Equal(allocated, freed);
        Assert.Equal(0, buffer.AllocatedBytes);
    }

    [Fact]
    public void Clear_DropsEveryRecordAndReportsTheMemoryFreed()
    {
        using var buffer = new RecordBuffer();
        long allocated = 0;
        for (var offset = 0; offset < 100; offset++)
        {
            allocated += buffer.AddClientRecord(Record(offset, null, new byte[1_000], Timestamp.Default, null));
        }

        Assert.Equal(allocated, buffer.Clear());
        Assert.Equal((0, 0L), (buffer.Count, buffer.AllocatedBytes));
        Assert.Empty(buffer.Take(10, "t", 0).Records);
    }

    private static ConsumeResult<byte[], byte[]> Record(long offset, byte[]? key, byte[]? value, Timestamp timestamp, Headers? headers) => new()
    {
        Topic = "fetched-as",
        Partition = 0,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = key!, Value = value!, Timestamp = timestamp, Headers = headers },
    };
}
