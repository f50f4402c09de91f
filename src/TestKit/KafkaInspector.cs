using Confluent.Kafka;

namespace OrleansKafka.Testing;

/// <summary>
/// Produces to and looks into a Kafka cluster from the outside, as a test would with standard
/// tooling: high watermarks, a group's committed offsets, the records of a topic.
/// </summary>
/// <param name="bootstrapServers">The cluster.</param>
/// <param name="partitionCounts">The partition count of each topic this inspector may be asked about.</param>
public sealed class KafkaInspector(string bootstrapServers, IReadOnlyDictionary<string, int> partitionCounts) : IDisposable
{
    private readonly Lazy<IProducer<string?, string?>> _producer = new(() => new ProducerBuilder<string?, string?>(new ProducerConfig
    {
        BootstrapServers = bootstrapServers,
        CompressionType = CompressionType.Lz4,
        LingerMs = 5,
    }).Build());

    /// <summary>Produces string records and waits until Kafka has acknowledged all of them.</summary>
    public async Task ProduceAsync(string topic, IEnumerable<(string? Key, string? Value)> records, int? partition = null)
    {
        var deliveries = new List<Task<DeliveryResult<string?, string?>>>();
        foreach (var (key, value) in records)
        {
            var message = new Message<string?, string?> { Key = key, Value = value };
            deliveries.Add(partition is { } p
                ? _producer.Value.ProduceAsync(new TopicPartition(topic, p), message)
                : _producer.Value.ProduceAsync(topic, message));
        }

        await Task.WhenAll(deliveries);
    }

    /// <summary>The high watermark of every partition of a topic, by partition.</summary>
    public Task<Dictionary<int, long>> HighWatermarksAsync(string topic) => Task.Run(() =>
    {
        using var consumer = NewConsumer<Ignore, Ignore>("orleanskafka-testkit-watermarks");
        return Partitions(topic).ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(5)).High.Value);
    });

    /// <summary>The committed offsets of a group on every partition of a topic (-1 where nothing is committed).</summary>
    public Task<Dictionary<int, long>> CommittedOffsetsAsync(string group, string topic) => Task.Run(() =>
    {
        using var consumer = NewConsumer<Ignore, Ignore>(group);
        var committed = consumer.Committed([.. Partitions(topic).Select(p => new TopicPartition(topic, p))], TimeSpan.FromSeconds(5));
        return committed.ToDictionary(c => c.Partition.Value, c => c.Offset.Value < 0 ? -1 : c.Offset.Value);
    });

    /// <summary>Waits until the group has committed every partition of the topic up to its high watermark.</summary>
    /// <exception cref="TimeoutException">Not reached in time; the message shows the offsets seen last.</exception>
    public async Task WaitForCommittedAsync(string group, string topic, TimeSpan? timeout = null)
    {
        var high = await HighWatermarksAsync(topic);
        await WaitForCommittedAsync(group, topic, high, timeout);
    }

    /// <summary>Waits until the group's committed offsets reach <paramref name="expected"/> on every partition listed.</summary>
    /// <exception cref="TimeoutException">Not reached in time; the message shows the offsets seen last.</exception>
    public async Task WaitForCommittedAsync(string group, string topic, IReadOnlyDictionary<int, long> expected, TimeSpan? timeout = null)
    {
        Dictionary<int, long> committed = [];
        var reached = await Poll.UntilAsync(
            async () =>
            {
                committed = await CommittedOffsetsAsync(group, topic);
                return expected.All(e => e.Value <= 0 || committed.GetValueOrDefault(e.Key, -1) >= e.Value);
            },
            timeout ?? TimeSpan.FromSeconds(60));
        if (!reached)
        {
            var detail = string.Join(", ", expected.OrderBy(e => e.Key).Select(e => $"{e.Key}: {committed.GetValueOrDefault(e.Key, -1)}/{e.Value}"));
            throw new TimeoutException($"Group '{group}' did not commit topic '{topic}' up to the expected offsets in time (committed/expected by partition: {detail}).");
        }
    }

    /// <summary>Reads every record of a topic up to its current high watermarks, partition by partition.</summary>
    public async Task<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>> ReadAllAsync(string topic, TimeSpan? timeout = null)
    {
        var high = await HighWatermarksAsync(topic);
        return await Task.Run(() =>
        {
            using var consumer = NewConsumer<byte[]?, byte[]?>("orleanskafka-testkit-reader");
            consumer.Assign(high.Where(h => h.Value > 0).Select(h => new TopicPartitionOffset(topic, h.Key, Offset.Beginning)));
            var records = new List<ConsumeResult<byte[]?, byte[]?>>();
            var remaining = high.Where(h => h.Value > 0).ToDictionary(h => h.Key, h => h.Value);
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
            while (remaining.Count > 0)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"Topic '{topic}': could not read up to the high watermarks in time; {records.Count} records read.");
                }

                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is null)
                {
                    continue;
                }

                records.Add(result);
                if (result.Offset.Value + 1 >= remaining.GetValueOrDefault(result.Partition.Value, long.MaxValue))
                {
                    remaining.Remove(result.Partition.Value);
                }
            }

            return records;
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_producer.IsValueCreated)
        {
            _producer.Value.Dispose();
        }
    }

    private IEnumerable<int> Partitions(string topic) =>
        Enumerable.Range(0, partitionCounts.TryGetValue(topic, out var count) ? count : throw new ArgumentException($"Topic '{topic}' is not one of this cluster's topics.", nameof(topic)));

    private IConsumer<TKey, TValue> NewConsumer<TKey, TValue>(string group) =>
        new ConsumerBuilder<TKey, TValue>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
            FetchWaitMaxMs = 5,
        }).Build();
}
