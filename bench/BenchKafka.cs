using Confluent.Kafka;
using OrleansKafka.Kafka;

namespace OrleansKafka.Bench;

/// <summary>The embedded cluster, the records, and the client settings every pattern shares.</summary>
internal static class BenchKafka
{
    /// <summary>Larger fetches than librdkafka's defaults, used by the raw consumers and the product alike.</summary>
    public static readonly Dictionary<string, string> FetchSettings = new()
    {
        ["fetch.max.bytes"] = (50 * 1024 * 1024).ToString(),
        ["max.partition.fetch.bytes"] = (4 * 1024 * 1024).ToString(),
        ["queued.max.messages.kbytes"] = (64 * 1024).ToString(),
        ["fetch.wait.max.ms"] = "500",
    };

    public static ConsumerConfig ConsumerConfig(string bootstrap, string group)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(FetchSettings))
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        return config;
    }

    /// <summary>Produces a record, waiting for deliveries while the producer's queue is full.</summary>
    public static void ProduceOrWait<TKey, TValue>(IProducer<TKey, TValue> producer, TopicPartition partition, Message<TKey, TValue> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(partition, message);
                return;
            }
            catch (ProduceException<TKey, TValue> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }

    /// <summary>Produces keyed 100-byte compressible records, spread evenly over the partitions.</summary>
    public static void Produce(EmbeddedKafkaCluster kafka, string topic, int partitions, int records)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            CompressionType = CompressionType.Lz4,
            LingerMs = 20,
            BatchSize = 1_000_000,
            QueueBufferingMaxMessages = 2_000_000,
            QueueBufferingMaxKbytes = 1_048_576,
        }).Build();
        var value = new byte[100];
        for (var i = 0; i < value.Length; i++)
        {
            value[i] = (byte)('a' + (i % 8));
        }

        var measure = new Measure();
        for (var i = 0; i < records; i++)
        {
            ProduceOrWait(producer, new TopicPartition(topic, i % partitions), new Message<byte[], byte[]> { Key = BitConverter.GetBytes(i), Value = value });
        }

        producer.Flush(TimeSpan.FromMinutes(2));
        measure.Stop("produce", records);
    }
}
