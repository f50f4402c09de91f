using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Fetching;
using OrleansKafka.Kafka;
using OrleansKafka.Leases;
using OrleansKafka.Testing;

using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Fetching;

[Trait("Category", "Kafka")]
public sealed class FetchWorkerTests
{
    // The silo's budget, shared by its workers and buffers as in production; never spent here.
    private readonly BufferBudget _budget = new(long.MaxValue);

    /// <remarks>
    /// Paused when unassigned: librdkafka keeps a partition's pause through unassign and assign,
    /// so a lease that ended while its full buffer kept the partition paused left the next
    /// lease's feed, which starts unpaused, waiting for ever (found by the streams benchmark: one
    /// partition stopped at the offset where a starved silo's lease had run out, with records
    /// behind it).
    /// </remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Assign_SamePartitionAgainAfterUnassign_NewFeedReceivesTheRecords(bool pausedWhenUnassigned)
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        using var worker = new FetchWorker("test-worker", new Dictionary<string, string>
        {
            ["bootstrap.servers"] = kafka.BootstrapServers,
            ["group.id"] = "g",
            ["enable.auto.commit"] = "false",
        }, NullLogger.Instance, TimeProvider.System, _budget);
        var partition = new TopicPartition("t", 0);

        var first = NewBuffer(worker, partition, epoch: 1, start: 0);
        worker.Assign(first, 0);
        await ProduceAsync(producer, 5);
        Assert.True(await Poll.UntilAsync(() => first.BufferedCount == 5, TimeSpan.FromSeconds(10)), $"first feed got {first.BufferedCount} of 5");
        if (pausedWhenUnassigned)
        {
            first.PauseForBudget();
            Assert.True(first.IsPaused);
        }

        worker.Unassign(first);
        var second = NewBuffer(worker, partition, epoch: 2, start: 5);
        worker.Assign(second, 5);
        await ProduceAsync(producer, 5);

        Assert.True(await Poll.UntilAsync(() => second.BufferedCount == 5, TimeSpan.FromSeconds(10)), $"the re-granted partition's feed got {second.BufferedCount} of 5 records");
    }

    [Fact]
    public async Task FatalConsumerError_ConsumerIsRebuilt_AndThePartitionGoesOnFromItsNextOffset()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var consumers = new List<IConsumer<byte[], byte[]>>();
        using var worker = new FetchWorker(
            "test-worker",
            onError =>
            {
                var consumer = new ConsumerBuilder<byte[], byte[]>(Settings(kafka)).WithLogging(NullLogger.Instance, "test-worker", onError).Build();
                lock (consumers)
                {
                    consumers.Add(consumer);
                }

                return consumer;
            },
            NullLogger.Instance,
            TimeProvider.System,
            _budget);
        var partition = new TopicPartition("t", 0);
        var feed = NewBuffer(worker, partition, epoch: 1, start: 0);
        worker.Assign(feed, 0);
        await ProduceAsync(producer, 5);
        Assert.True(await Poll.UntilAsync(() => feed.BufferedCount == 5, TimeSpan.FromSeconds(10)), $"feed got {feed.BufferedCount} of 5");

        KafkaFaultInjection.RaiseFatalError(consumers[0], "fetch worker test");
        Assert.True(await Poll.UntilAsync(() => worker.Rebuilds == 1, TimeSpan.FromSeconds(10)), "the consumer was not rebuilt after a fatal error");
        await ProduceAsync(producer, 5);

        Assert.True(await Poll.UntilAsync(() => feed.BufferedCount == 10, TimeSpan.FromSeconds(10)), $"after the fatal error the feed got {feed.BufferedCount} of 10 records");
        Assert.Equal(10, feed.NextOffset);
    }

    [Fact]
    public async Task RebuiltConsumerFailsToTakeThePartitions_AnotherIsBuilt_AndThePartitionGoesOn()
    {
        // Before, the new consumer replaced the broken one before it was given the partitions: when
        // that failed, the worker polled a consumer with no partitions, no longer marked fatal, and
        // the partition stopped for good (and the broken consumer was never disposed).
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var built = new List<IConsumer<byte[], byte[]>>();
        using var worker = new FetchWorker(
            "test-worker",
            onError =>
            {
                var consumer = new ConsumerBuilder<byte[], byte[]>(Settings(kafka)).WithLogging(NullLogger.Instance, "test-worker", onError).Build();
                lock (built)
                {
                    built.Add(consumer);

                    // The first rebuild's consumer refuses the partitions.
                    return built.Count == 2 ? RefusingAssign.Wrap(consumer) : consumer;
                }
            },
            NullLogger.Instance,
            TimeProvider.System,
            _budget);
        var feed = NewBuffer(worker, new TopicPartition("t", 0), epoch: 1, start: 0);
        worker.Assign(feed, 0);
        await ProduceAsync(producer, 5);
        Assert.True(await Poll.UntilAsync(() => feed.BufferedCount == 5, TimeSpan.FromSeconds(10)), $"feed got {feed.BufferedCount} of 5");

        KafkaFaultInjection.RaiseFatalError(built[0], "fetch worker test");
        Assert.True(await Poll.UntilAsync(() => worker.Rebuilds == 1, TimeSpan.FromSeconds(10)), "no consumer took over after the one that refused the partitions");
        await ProduceAsync(producer, 5);

        Assert.True(await Poll.UntilAsync(() => feed.BufferedCount == 10, TimeSpan.FromSeconds(10)), $"after the failed rebuild the feed got {feed.BufferedCount} of 10 records");
        Assert.Equal(3, built.Count);
        Assert.True(worker.ConsumeFailures >= 1, "the failed rebuild was not counted");
    }

    /// <summary>A consumer whose <c>IncrementalAssign</c> fails; everything else goes to the real one.</summary>
    public class RefusingAssign : System.Reflection.DispatchProxy
    {
        private IConsumer<byte[], byte[]> _inner = null!;

        public static IConsumer<byte[], byte[]> Wrap(IConsumer<byte[], byte[]> inner)
        {
            var proxy = Create<IConsumer<byte[], byte[]>, RefusingAssign>();
            ((RefusingAssign)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == nameof(IConsumer<byte[], byte[]>.IncrementalAssign))
            {
                throw new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_State, "this test's consumer refuses partitions"));
            }

            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }

    [Fact]
    public async Task FetchFailsWithAnErrorForTheApplication_ItIsCountedAsAConsumeFailure_AndFetchingGoesOn()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        await ProduceAsync(producer, 20);

        // The first fetches fail with an error librdkafka hands to the application (not
        // authorized to read the topic); it fetches again 10 ms later.
        kafka.FailNextRequests(ApiKeyFetch, TopicAuthorizationFailed, TopicAuthorizationFailed);
        var log = new ListLogger();
        using var worker = new FetchWorker(
            "test-worker",
            _ => new ConsumerBuilder<byte[], byte[]>(new Dictionary<string, string>(Settings(kafka)) { ["fetch.error.backoff.ms"] = "10" }).Build(),
            log,
            TimeProvider.System,
            _budget);
        var feed = NewBuffer(worker, new TopicPartition("t", 0), epoch: 1, start: 0);
        worker.Assign(feed, 0);

        Assert.True(await Poll.UntilAsync(() => feed.BufferedCount == 20, TimeSpan.FromSeconds(10)), $"feed got {feed.BufferedCount} of 20 records");
        Assert.True(worker.ConsumeFailures >= 1, "the failed fetch was not reported to the worker");

        // The warning names the partition the error is about.
        var failures = log.Entries.Where(e => e.Exception is KafkaException { Error.Code: Confluent.Kafka.ErrorCode.TopicAuthorizationFailed }).ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, f => Assert.Contains("(topic t, partition 0)", f.Exception!.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RebuildingTheConsumerFailsOverAndOver_RetriesBackOffOnTheClock_InsteadOfSpinning()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        var time = new FakeTimeProvider();

        // After a fatal error every new consumer fails to build (say its settings no longer load):
        // failures in a row.
        var built = 0;
        IConsumer<byte[], byte[]>? first = null;
        using var worker = new FetchWorker(
            "test-worker",
            _ => Interlocked.Increment(ref built) == 1
                ? first = new ConsumerBuilder<byte[], byte[]>(Settings(kafka)).Build()
                : throw new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_Transport, "this test's consumers cannot be built")),
            NullLogger.Instance,
            time,
            _budget);
        worker.Assign(NewBuffer(worker, new TopicPartition("t", 0), epoch: 1, start: 0), 0);
        KafkaFaultInjection.RaiseFatalError(first!, "fetch worker test");

        Assert.True(await Poll.UntilAsync(() => Volatile.Read(ref built) >= 2, TimeSpan.FromSeconds(10)), "the consumer was not rebuilt after a fatal error");
        Assert.False(await Poll.UntilAsync(() => Volatile.Read(ref built) > 2, TimeSpan.FromMilliseconds(500)), $"{built - 1} rebuilds while the clock stood still: no backoff");
        Assert.True(worker.ConsumeFailures >= 1, "the failed rebuild was not counted");

        Assert.True(await Poll.UntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(10));
                return Volatile.Read(ref built) >= 4;
            },
            TimeSpan.FromSeconds(10)),
            "rebuilding did not go on once the backoff had passed");
    }

    /// <summary>
    /// A user's Confluent.Kafka version that does not expose the librdkafka handle (issue 24):
    /// the worker reads through <c>Consume</c>, says so, and buffers every record exactly as
    /// reading in place does: null and empty keys and values, headers with null values, timestamps.
    /// </summary>
    [Fact]
    public async Task ConfluentKafkaWithoutTheHandle_RecordsAreReadThroughConsume_ExactlyAsInPlace()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            var headers = new Headers { { "trace", [1, 2, 3] }, { "empty", [] }, { "none", null } };
            (byte[]? Key, byte[]? Value, Headers? Headers)[] records =
            [
                ([1], [2, 3], null), (null, [4], null), ([], [], headers), ([5], null, headers), (null, null, null),
                (System.Text.Encoding.UTF8.GetBytes("k\u00e9y"), new byte[70_000], headers),
            ];
            foreach (var (key, value, recordHeaders) in records)
            {
                await producer.ProduceAsync(new TopicPartition("t", 0), new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = recordHeaders, Timestamp = new Timestamp(1_700_000_000_123, TimestampType.CreateTime) });
            }
        }

        var log = new ListLogger();
        var inPlace = await ReadAllAsync(kafka, wrap: c => c, NullLogger.Instance, 6);
        var consumed = await ReadAllAsync(kafka, wrap: WithoutHandle.Wrap, log, 6);

        Assert.Equal(inPlace.Select(Describe), consumed.Select(Describe));
        Assert.Contains(consumed, r => r.Message.Key is null);
        Assert.Contains(consumed, r => r.Message.Value is null);
        Assert.Contains(log.Entries, e => e.Message.Contains("read through Consume", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConfluentKafkaWithoutTheHandle_AnOffsetNotInKafka_GoesToThePartitionsBuffer()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        await ProduceAsync(producer, 3);
        using var worker = new FetchWorker(
            "test-worker",
            _ => WithoutHandle.Wrap(new ConsumerBuilder<byte[], byte[]>(new Dictionary<string, string>(Settings(kafka)) { ["auto.offset.reset"] = "error" }).Build()),
            NullLogger.Instance,
            TimeProvider.System,
            _budget);
        var feed = NewBuffer(worker, new TopicPartition("t", 0), epoch: 1, start: 50);
        worker.Assign(feed, 50);

        Assert.True(await Poll.UntilAsync(() => feed.PendingReset is not null, TimeSpan.FromSeconds(10)), "the offset out of range was not reported to the partition's buffer");
        Assert.Equal(50, feed.PendingReset!.Offset);
        Assert.Equal(0, worker.ConsumeFailures);
    }

    [Fact]
    public async Task ConfluentKafkaWithoutTheHandle_OffsetsAreCommittedAndReadWithoutMetadata()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic("t", 1);
        var partition = new TopicPartition("t", 0);
        using var plain = new ConsumerBuilder<byte[], byte[]>(Settings(kafka)).Build();
        using var withoutHandle = WithoutHandle.Wrap(new ConsumerBuilder<byte[], byte[]>(Settings(kafka)).Build());

        OffsetsWithMetadata.Commit(plain, [(partition, 4, "orleans-kafka/1 epoch=3")]);
        Assert.Equal((4L, "orleans-kafka/1 epoch=3"), OffsetsWithMetadata.Read(plain, [partition], TimeSpan.FromSeconds(10)).Select(c => (c.Offset, c.Metadata)).Single());
        Assert.Equal((4L, (string?)null), OffsetsWithMetadata.Read(withoutHandle, [partition], TimeSpan.FromSeconds(10)).Select(c => (c.Offset, c.Metadata)).Single());

        OffsetsWithMetadata.Commit(withoutHandle, [(partition, 9, "orleans-kafka/1 epoch=4")]);
        Assert.Equal(9, OffsetsWithMetadata.Read(plain, [partition], TimeSpan.FromSeconds(10)).Single().Offset);
    }

    private async Task<List<ConsumeResult<byte[], byte[]>>> ReadAllAsync(EmbeddedKafkaCluster kafka, Func<IConsumer<byte[], byte[]>, IConsumer<byte[], byte[]>> wrap, Microsoft.Extensions.Logging.ILogger log, int count)
    {
        using var worker = new FetchWorker("test-worker", _ => wrap(new ConsumerBuilder<byte[], byte[]>(Settings(kafka)).Build()), log, TimeProvider.System, _budget);
        var feed = NewBuffer(worker, new TopicPartition("t", 0), epoch: 1, start: 0);
        worker.Assign(feed, 0);
        Assert.True(await Poll.UntilAsync(() => feed.BufferedCount == count, TimeSpan.FromSeconds(10)), $"feed got {feed.BufferedCount} of {count}");
        feed.Signal();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var records = new List<ConsumeResult<byte[], byte[]>>();
        while (records.Count < count && await feed.TakeAsync(cancel.Token) is { } taken)
        {
            records.AddRange(taken);
            feed.EndDelivery();
        }

        worker.Unassign(feed);
        return records;
    }

    private static string Describe(ConsumeResult<byte[], byte[]> record) =>
        $"{record.Offset.Value} {record.Message.Timestamp.UnixTimestampMs}/{record.Message.Timestamp.Type} "
        + $"key={Hex(record.Message.Key)} value={Hex(record.Message.Value)} "
        + $"headers=[{string.Join(",", record.Message.Headers?.Select(h => $"{h.Key}:{Hex(h.GetValueBytes())}") ?? [])}]";

    private static string Hex(byte[]? bytes) => bytes is null ? "null" : Convert.ToHexString(bytes);

    /// <summary>A consumer as one of a Confluent.Kafka version without the internal librdkafka handle: <c>Handle</c> is null.</summary>
    public class WithoutHandle : System.Reflection.DispatchProxy
    {
        private IConsumer<byte[], byte[]> _inner = null!;

        public static IConsumer<byte[], byte[]> Wrap(IConsumer<byte[], byte[]> inner)
        {
            var proxy = Create<IConsumer<byte[], byte[]>, WithoutHandle>();
            ((WithoutHandle)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == "get_Handle")
            {
                return null;
            }

            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }

    private const short ApiKeyFetch = 1;
    private const int TopicAuthorizationFailed = 29;

    private static Dictionary<string, string> Settings(EmbeddedKafkaCluster kafka) => new()
    {
        ["bootstrap.servers"] = kafka.BootstrapServers,
        ["group.id"] = "g",
        ["enable.auto.commit"] = "false",
    };


    private PartitionBuffer NewBuffer(FetchWorker worker, TopicPartition partition, long epoch, long start) =>
        new(new LocalLease("g", partition, epoch, long.MaxValue, TimeProvider.System), worker, start, 1 << 20, deliverySize: 64, _budget, buildsWholeDeliveries: false, NullLogger.Instance);

    private static async Task ProduceAsync(IProducer<Null, string> producer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await producer.ProduceAsync(new TopicPartition("t", 0), new Message<Null, string> { Value = $"v{i}" });
        }
    }
}
