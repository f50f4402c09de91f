using Confluent.Kafka;

namespace OrleansKafka.Delivery;

/// <summary>
/// The wire form of a <see cref="PartitionDelivery"/>. Deliveries normally stay inside one silo
/// and are passed by reference; this is used only when a call reaches an activation on another
/// silo (the grain's activation stayed where the partition used to be). That activation finds
/// it holds no lease, answers <see cref="DeliveryOutcome.NotOwner"/> and migrates to the sender,
/// which is the lease holder.
/// </summary>
// The aliases keep the wire names these had before the types moved, so silos of both versions talk during an upgrade.
[GenerateSerializer, Alias("OrleansKafka.Partitions.PartitionDeliverySurrogate")]
internal struct PartitionDeliverySurrogate
{
    [Id(0)] public long Epoch;
    [Id(1)] public SerializedRecord[] Records;
    [Id(2)] public Orleans.Runtime.SiloAddress? From;
}

[GenerateSerializer, Alias("OrleansKafka.Partitions.SerializedRecord")]
internal struct SerializedRecord
{
    [Id(0)] public string Topic;
    [Id(1)] public int Partition;
    [Id(2)] public long Offset;
    [Id(3)] public long TimestampMs;
    [Id(4)] public int TimestampType;
    [Id(5)] public byte[]? Key;
    [Id(6)] public byte[]? Value;
    [Id(7)] public string[]? HeaderKeys;
    [Id(8)] public byte[][]? HeaderValues;
}

[RegisterConverter]
internal sealed class PartitionDeliveryConverter : IConverter<PartitionDelivery, PartitionDeliverySurrogate>
{
    public PartitionDelivery ConvertFromSurrogate(in PartitionDeliverySurrogate surrogate)
    {
        var records = new List<ConsumeResult<byte[], byte[]>>(surrogate.Records.Length);
        foreach (var r in surrogate.Records)
        {
            Headers? headers = null;
            if (r.HeaderKeys is { } keys)
            {
                headers = [];
                for (var i = 0; i < keys.Length; i++)
                {
                    headers.Add(keys[i], r.HeaderValues![i]);
                }
            }

            records.Add(new ConsumeResult<byte[], byte[]>
            {
                Topic = r.Topic,
                Partition = r.Partition,
                Offset = r.Offset,
                Message = new Message<byte[], byte[]>
                {
                    Key = r.Key!,
                    Value = r.Value!,
                    Timestamp = new Timestamp(r.TimestampMs, (TimestampType)r.TimestampType),
                    Headers = headers,
                },
            });
        }

        return new PartitionDelivery(records, surrogate.Epoch, surrogate.From);
    }

    public PartitionDeliverySurrogate ConvertToSurrogate(in PartitionDelivery value) => new()
    {
        Epoch = value.Epoch,
        From = value.From,
        Records = [.. value.Records.Select(r => new SerializedRecord
        {
            Topic = r.Topic,
            Partition = r.Partition.Value,
            Offset = r.Offset.Value,
            TimestampMs = r.Message.Timestamp.UnixTimestampMs,
            TimestampType = (int)r.Message.Timestamp.Type,
            Key = r.Message.Key,
            Value = r.Message.Value,
            HeaderKeys = r.Message.Headers is { } h ? [.. h.Select(x => x.Key)] : null,
            HeaderValues = r.Message.Headers is { } hv ? [.. hv.Select(x => x.GetValueBytes())] : null,
        })],
    };
}
