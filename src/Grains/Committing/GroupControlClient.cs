using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Kafka;
using OrleansKafka.Leases;

namespace OrleansKafka.Committing;

/// <summary>
/// The one Kafka client per consumer group and silo that does the blocking calls: committing
/// offsets, reading committed offsets and reading topic metadata. It runs them on a thread of
/// its own, so neither a grain turn nor a thread-pool thread ever waits on a broker.
/// </summary>
/// <remarks>
/// Processed offsets are collected from the group's leases and committed together every
/// commit interval, or at once when <see cref="FlushAsync()"/> asks. A lease that is lost or
/// expired is skipped: a fenced owner never commits.
/// </remarks>
internal sealed partial class GroupControlClient : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly IConsumer<Ignore, Ignore> _consumer;
    private readonly IAdminClient _admin;
    private readonly Thread _thread;
    private readonly string _group;
    private readonly Func<IEnumerable<LocalLease>> _leases;
    private readonly TimeSpan _commitInterval;
    private readonly TimeSpan _coordinatorWait;
    private readonly ILogger _logger;

    // Set once the brokers refused a note with a completed-ahead map as too large.
    private bool _mapsRefused;

    /// <summary>A control client for <paramref name="group"/>; <paramref name="coordinatorWait"/> is the lease length.</summary>
    /// <remarks>
    /// A commit made while no broker is reachable waits <paramref name="coordinatorWait"/> for the
    /// group's coordinator, then fails and is tried again at the next interval. librdkafka holds
    /// such a commit for the consumer's <c>session.timeout.ms</c> (45 s by default), a setting this
    /// client uses for nothing else (it never joins the group): a commit held longer than a lease
    /// could land after the lease moved on, and a silo stopping while Kafka was away waited out
    /// the 45 s, past the host's shutdown timeout.
    /// </remarks>
    public GroupControlClient(string group, IDictionary<string, string> settings, Func<IEnumerable<LocalLease>> leases, TimeSpan commitInterval, TimeSpan coordinatorWait, ILogger logger)
    {
        _group = group;
        _leases = leases;
        _commitInterval = commitInterval;
        _coordinatorWait = coordinatorWait;
        _logger = logger;
        var config = new ConsumerConfig(settings)
        {
            GroupId = group,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AllowAutoCreateTopics = false,
        };

        // Not with the next-generation group protocol, which refuses the setting; at most librdkafka's
        // max.poll.interval.ms (5 minutes by default), which it must not exceed.
        if (!string.Equals(config.Get("group.protocol"), "consumer", StringComparison.OrdinalIgnoreCase))
        {
            config.SessionTimeoutMs = (int)Math.Clamp(coordinatorWait.TotalMilliseconds, 1, config.MaxPollIntervalMs ?? 300_000);
        }
        _consumer = new ConsumerBuilder<Ignore, Ignore>(config)
            .WithLogging(logger, $"{group}/control")
            .Build();
        _admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
        if (LibrdkafkaNative.TryClientHandle(_consumer) is null)
        {
            LogNoMetadata(logger, group, LibrdkafkaNative.ClientVersion);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"kafka-control-{group}" };
        _thread.Start();
    }

    /// <summary>Commits every processed offset of the group now; fails when Kafka refuses the commit.</summary>
    /// <remarks>
    /// Kafka away, it fails after a lease length when the group's coordinator is unknown, but a
    /// commit already on its way when the connection dropped is retried by librdkafka until the
    /// coordinator is back, however long that takes: the caller waits, and holds its lease
    /// meanwhile, so that the commit cannot land after the partition moved on.
    /// </remarks>
    public Task FlushAsync() => RunAsync(() => CommitProcessed(throwOnFailure: true));

    /// <summary>
    /// <see cref="FlushAsync()"/>, waiting for Kafka as long as it takes until <paramref name="stopping"/>
    /// is requested, and from then on a lease length at most (then a <see cref="TimeoutException"/>):
    /// a stopping silo does not wait for Kafka to come back. What it did not commit is processed
    /// again by the next owner.
    /// </summary>
    public async Task FlushAsync(CancellationToken stopping)
    {
        var flush = FlushAsync();
        try
        {
            await flush.WaitAsync(stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await flush.WaitAsync(_coordinatorWait);
        }
    }

    /// <summary>The committed offsets of these partitions; <see cref="Offset.Unset"/> where none.</summary>
    public Task<List<TopicPartitionOffset>> CommittedAsync(IEnumerable<TopicPartition> partitions, TimeSpan timeout) =>
        RunAsync(() => _consumer.Committed(partitions, timeout));

    /// <summary>The partition's committed offset (-1001 when none) and the note committed with it (null when none, or another tool committed).</summary>
    /// <exception cref="KafkaException">Kafka did not answer in time.</exception>
    public Task<(long Offset, CommitNote? Note)> CommittedWithNoteAsync(TopicPartition partition, TimeSpan timeout) =>
        RunAsync(() => OffsetsWithMetadata.Read(_consumer, [partition], timeout)[0] is var committed ? (committed.Offset, CommitNote.Parse(committed.Metadata)) : default);

    /// <summary>The note committed with the partition's offset (<see cref="CommitNote"/>); null when none, or another tool committed.</summary>
    /// <exception cref="KafkaException">Kafka did not answer in time.</exception>
    public Task<CommitNote?> CommittedNoteAsync(TopicPartition partition, TimeSpan timeout) =>
        RunAsync(() => CommitNote.Parse(OffsetsWithMetadata.Read(_consumer, [partition], timeout)[0].Metadata));

    /// <summary>The low and high watermarks of a partition: the first offset still in Kafka, and the next offset to be written.</summary>
    public Task<WatermarkOffsets> WatermarksAsync(TopicPartition partition, TimeSpan timeout) =>
        RunAsync(() => _consumer.QueryWatermarkOffsets(partition, timeout));

    /// <summary>
    /// Commits <paramref name="offset"/> for the lease's partition, backwards too, and moves the
    /// lease's processed and committed offsets there; nothing of the partition may be processing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The lease is no longer current, or Kafka refused the commit (the message says why).</exception>
    public Task SeekAsync(LocalLease lease, long offset) =>
        RunAsync(() =>
        {
            // Not revoked either: a revoke's flush is queued on this thread after the revoke, so a
            // seek that passes here is committed before that flush, and the release hands it over.
            if (!lease.IsCurrent)
            {
                throw new InvalidOperationException($"Partition {lease.GrainKey}: this silo's lease (epoch {lease.Epoch}) ended or is being given up; the seek was not committed. Try again in a few seconds.");
            }

            try
            {
                OffsetsWithMetadata.Commit(_consumer, [(lease.Partition, offset, Note(lease))]);
            }
            catch (KafkaException ex)
            {
                // Kafka's exception types do not cross a grain call (not even as an inner exception): the operator gets the reason as text.
                throw new InvalidOperationException($"Partition {lease.GrainKey}: committing offset {offset} for the seek failed ({ex.Error.Code}: {ex.Error.Reason}); nothing was changed. Try again.");
            }

            lease.SeekTo(offset);
            return true;
        });

    /// <summary>The partition count of each topic, read from the brokers' metadata.</summary>
    /// <exception cref="KafkaException">The brokers did not answer in time.</exception>
    /// <exception cref="InvalidOperationException">A topic does not exist.</exception>
    public Task<Dictionary<string, int>> PartitionCountsAsync(IReadOnlyCollection<string> topics, TimeSpan timeout) =>
        RunAsync(() =>
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var topic in topics)
            {
                var metadata = _admin.GetMetadata(topic, timeout);
                var found = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
                if (found is null || found.Error.IsError || found.Partitions.Count == 0)
                {
                    throw new InvalidOperationException(
                        $"Topic '{topic}' (consumer group '{_group}') does not exist on {metadata.Brokers.Count} broker(s): {found?.Error.Reason ?? "not in the metadata"}. " +
                        "Create it, or correct the processor's Topic setting.");
                }

                counts[topic] = found.Partitions.Count;
            }

            return counts;
        });

    /// <summary>
    /// The rack of each partition's leader broker, per topic (null where the leader has none); empty
    /// when no broker has a rack. The racks come from Kafka's cluster description, the leaders
    /// from its metadata.
    /// </summary>
    /// <exception cref="KafkaException">The brokers did not answer in time.</exception>
    public async Task<Dictionary<string, string?[]>> LeaderRacksAsync(IReadOnlyCollection<string> topics, TimeSpan timeout)
    {
        var cluster = await _admin.DescribeClusterAsync(new Confluent.Kafka.Admin.DescribeClusterOptions { RequestTimeout = timeout });
        var racks = cluster.Nodes.Where(n => !string.IsNullOrWhiteSpace(n.Rack)).ToDictionary(n => n.Id, n => n.Rack);
        if (racks.Count == 0)
        {
            return [];
        }

        return await RunAsync(() => topics.ToDictionary(
            topic => topic,
            topic => _admin.GetMetadata(topic, timeout).Topics.FirstOrDefault(t => t.Topic == topic)?.Partitions
                .OrderBy(p => p.PartitionId).Select(p => racks.GetValueOrDefault(p.Leader)).ToArray() ?? [],
            StringComparer.Ordinal));
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        if (!_thread.Join(_coordinatorWait))
        {
            // Stuck in a commit Kafka has not answered: closing the client under that call is not
            // safe, and waiting would hold the silo's stop until Kafka is back. It is closed once
            // the call returns; the offsets not committed by then are processed again by the
            // partitions' next owners.
            LogCloseDeferred(_logger, _group, _coordinatorWait);
            _ = Task.Factory.StartNew(
                () =>
                {
                    _thread.Join();
                    try
                    {
                        Close();
                    }
                    catch (Exception ex)
                    {
                        LogControlLoopFailed(_logger, ex, _group);
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            return;
        }

        Close();
    }

    private void Close()
    {
        _admin.Dispose();
        _consumer.Close();
        _consumer.Dispose();
        _work.Dispose();
    }

    private Task<T> RunAsync<T>(Func<T> action)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                var result = action();

                // Commits are due also while work keeps arriving; a failed one is logged and tried
                // again, and does not fail the work that succeeded (reading offsets or metadata).
                CommitProcessed();
                done.SetResult(result);
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        return done.Task;
    }

    private void Run()
    {
        while (!_work.IsCompleted)
        {
            try
            {
                if (_work.TryTake(out var item, _commitInterval))
                {
                    item();
                }
                else
                {
                    CommitProcessed();
                }
            }
            catch (InvalidOperationException) when (_work.IsAddingCompleted)
            {
                break;
            }
            catch (Exception ex)
            {
                LogControlLoopFailed(_logger, ex, _group);
            }
        }

        // Whatever was processed before shutdown is committed before the client closes.
        CommitProcessed();
    }

    private bool CommitProcessed(bool throwOnFailure = false)
    {
        var due = new List<(LocalLease Lease, long Offset, LocalLease.CompletedAhead? Ahead)>();
        foreach (var lease in _leases())
        {
            var processed = lease.ProcessedOffset;
            if ((processed > lease.CommittedOffset || lease.CompletedAheadUncommitted(processed)) && lease.CanCommit)
            {
                due.Add((lease, processed, _mapsRefused ? null : lease.CompletedAheadOf(processed)));
            }
        }

        if (due.Count == 0)
        {
            return true;
        }

        try
        {
            OffsetsWithMetadata.Commit(_consumer, [.. due.Select(d => (d.Lease.Partition, d.Offset, Note(d.Lease, d.Ahead)))]);
            foreach (var (lease, offset, ahead) in due)
            {
                lease.MarkCommitted(offset, ahead);
            }
        }
        catch (KafkaException ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.OffsetMetadataTooLarge && !_mapsRefused)
        {
            // The brokers keep less metadata than the default 4,096 bytes (offset.metadata.max.bytes):
            // from now on this group commits without the completed-ahead maps (a move runs their records again).
            _mapsRefused = true;
            LogMapsRefused(_logger, ex, _group);
            return CommitProcessed(throwOnFailure);
        }
        catch (KafkaException ex)
        {
            // The offsets stay pending and are tried again at the next interval.
            LogCommitFailed(_logger, ex, _group, due.Count);
            if (throwOnFailure)
            {
                throw;
            }

            return false;
        }

        return true;
    }

    private static string Note(LocalLease lease, LocalLease.CompletedAhead? ahead = null) => new CommitNote(lease.Epoch, lease.CheckpointOffset, ahead?.Ranges).ToString();

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Committing offsets of {Partitions} partitions for consumer group {Group} failed; retrying at the next interval")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, string group, int partitions);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Confluent.Kafka {Version} does not expose its librdkafka handle: consumer group {Group} commits offsets without the product's note (epoch and checkpoint), so a lost checkpoint row cannot be told from a partition that never had state. Use the Confluent.Kafka version OrleansKafka was built with")]
    private static partial void LogNoMetadata(ILogger logger, string group, Version? version);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "Kafka refused the commit note of consumer group {Group} as too large (offset.metadata.max.bytes below 4,096?): it commits without the records completed past each offset from now on, and a move runs those again")]
    private static partial void LogMapsRefused(ILogger logger, Exception exception, string group);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Warning, Message = "Kafka did not answer a commit of consumer group {Group} within {Wait}; its client is closed once Kafka answers, and the offsets not committed by then are processed again by the next owners")]
    private static partial void LogCloseDeferred(ILogger logger, string group, TimeSpan wait);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Error, Message = "The control loop of consumer group {Group} failed an operation")]
    private static partial void LogControlLoopFailed(ILogger logger, Exception exception, string group);
}
