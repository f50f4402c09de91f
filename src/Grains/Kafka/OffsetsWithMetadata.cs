using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Kafka;

/// <summary>
/// Commits offsets with a metadata string each, and reads them back, through librdkafka itself:
/// Kafka keeps a string with every committed offset, but Confluent.Kafka for .NET neither sends
/// nor returns it (confluent-kafka-dotnet issue #2112). Calls block like the client's own
/// <c>Commit</c> and <c>Committed</c>; make them on the thread that owns the client. Where
/// Confluent.Kafka does not expose its librdkafka handle (<see cref="LibrdkafkaNative.TryClientHandle"/>),
/// they use the client's own calls: offsets without metadata.
/// </summary>
internal static unsafe class OffsetsWithMetadata
{
    /// <summary>A committed offset and the metadata committed with it (null when none).</summary>
    public readonly record struct Committed(Confluent.Kafka.TopicPartition Partition, long Offset, string? Metadata);

    /// <summary>Commits each offset with its metadata, synchronously.</summary>
    /// <exception cref="KafkaException">Kafka refused the commit, or one partition of it.</exception>
    public static void Commit<TKey, TValue>(IConsumer<TKey, TValue> client, IReadOnlyList<(Confluent.Kafka.TopicPartition Partition, long Offset, string? Metadata)> offsets)
    {
        if (LibrdkafkaNative.TryClientHandle(client) is not { } handle)
        {
            client.Commit(offsets.Select(o => new TopicPartitionOffset(o.Partition, o.Offset)));
            return;
        }

        var api = LibrdkafkaNative.Api;
        var list = api.PartitionListNew(offsets.Count);
        try
        {
            foreach (var (partition, offset, metadata) in offsets)
            {
                var element = Add(api, list, partition);
                element->Offset = offset;
                if (metadata is not null)
                {
                    // Freed with the list by librdkafka (with free(), which NativeMemory.Alloc pairs with).
                    var bytes = Encoding.UTF8.GetBytes(metadata);
                    element->Metadata = NativeMemory.Alloc((nuint)bytes.Length);
                    bytes.CopyTo(new Span<byte>(element->Metadata, bytes.Length));
                    element->MetadataSize = (nuint)bytes.Length;
                }
            }

            Check(api.Commit(handle, list, 0), list);
        }
        finally
        {
            api.PartitionListDestroy(list);
        }
    }

    /// <summary>The committed offsets of <paramref name="partitions"/> with their metadata; offset -1001 (<see cref="Offset.Unset"/>) where none.</summary>
    /// <exception cref="KafkaException">Kafka did not answer within <paramref name="timeout"/>, or answered with an error.</exception>
    public static List<Committed> Read<TKey, TValue>(IConsumer<TKey, TValue> client, IReadOnlyList<Confluent.Kafka.TopicPartition> partitions, TimeSpan timeout)
    {
        if (LibrdkafkaNative.TryClientHandle(client) is not { } handle)
        {
            return [.. client.Committed(partitions, timeout).Select(c => new Committed(c.TopicPartition, c.Offset.Value, null))];
        }

        var api = LibrdkafkaNative.Api;
        var list = api.PartitionListNew(partitions.Count);
        try
        {
            foreach (var partition in partitions)
            {
                Add(api, list, partition);
            }

            Check(api.Committed(handle, list, (int)timeout.TotalMilliseconds), list);
            var read = new List<Committed>(list->Count);
            for (var i = 0; i < list->Count; i++)
            {
                var element = list->Elements + i;
                var metadata = element->Metadata is null || element->MetadataSize == 0 ? null : Encoding.UTF8.GetString((byte*)element->Metadata, checked((int)element->MetadataSize));
                read.Add(new Committed(partitions[i], element->Offset, metadata));
            }

            return read;
        }
        finally
        {
            api.PartitionListDestroy(list);
        }
    }

    private static LibrdkafkaNative.TopicPartition* Add(LibrdkafkaNative.Functions api, LibrdkafkaNative.PartitionList* list, Confluent.Kafka.TopicPartition partition)
    {
        var topic = Encoding.UTF8.GetBytes(partition.Topic + "\0");
        fixed (byte* name = topic)
        {
            // librdkafka copies the name.
            return api.PartitionListAdd(list, name, partition.Partition.Value);
        }
    }

    /// <summary>Throws for an error of the call, or of any partition in <paramref name="list"/>.</summary>
    private static void Check(int error, LibrdkafkaNative.PartitionList* list)
    {
        if (error != 0)
        {
            throw new KafkaException((Confluent.Kafka.ErrorCode)error);
        }

        for (var i = 0; i < list->Count; i++)
        {
            if (list->Elements[i].Error is var partitionError and not 0)
            {
                var topic = Marshal.PtrToStringUTF8(list->Elements[i].Topic);
                throw new KafkaException(new Error((Confluent.Kafka.ErrorCode)partitionError, $"{new Error((Confluent.Kafka.ErrorCode)partitionError).Reason} (topic {topic}, partition {list->Elements[i].Partition})"));
            }
        }
    }
}
