using Confluent.Kafka;

namespace OrleansKafka.Delivery;

/// <summary>Reads the offsets of a delivery's records.</summary>
internal static class RecordOffsets
{
    /// <summary>The offset of record <paramref name="index"/> of any list of records; without building it when the list can say (<see cref="IOffsetIndexed"/>).</summary>
    public static long OffsetAt(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index) =>
        records is IOffsetIndexed indexed ? indexed.OffsetAt(index) : records[index].Offset.Value;
}
