using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// One Kafka consumer and the dedicated thread that polls it, serving any number of the silo's
/// partitions of one group. Partitions are added and removed with incremental assignment; the
/// group's coordinator is never involved, because the lease grain, not Kafka, decides ownership.
/// </summary>
/// <remarks>
/// A failing consume backs off (10 ms doubling to 1 s, on the injected clock) rather than
/// spinning. A fatal error leaves a librdkafka client unusable for good, so the consumer is then
/// rebuilt and every partition assigned again from the next offset its buffer expects.
/// </remarks>
internal sealed partial class FetchWorker : IDisposable
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    /// <summary>The longest a worker waits for room in the budget before looking again (paused buffers may resume meanwhile).</summary>
    private static readonly TimeSpan BudgetWait = TimeSpan.FromMilliseconds(50);

    /// <summary>How often paused buffers are checked for room to resume.</summary>
    private static readonly TimeSpan ResumeCheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls that brought a record between two readings of the clock: a poll is a record's work, and reading the clock costs a good part of one.</summary>
    private const int PollsPerClockRead = 64;
    private readonly ConcurrentDictionary<TopicPartition, PartitionBuffer> _buffers = new();
    private readonly Func<Action<Error>, IConsumer<byte[], byte[]>> _createConsumer;
    private readonly Lock _consumerLock = new();
    private readonly ManualResetEventSlim _stopped = new();
    private readonly Thread _thread;
    private readonly TimeProvider _time;
    private readonly BufferBudget _budget;
    private long _lastResumeCheck;
    private int _pollsSinceClockRead;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly MessageRouter _router;
    private IConsumer<byte[], byte[]> _consumer;

    // The consumer's rd_kafka_t, polled by the worker's thread; valid while _consumer is not
    // disposed. Zero where Confluent.Kafka does not expose it: records are then read with Consume.
    private IntPtr _handle;
    private volatile bool _stopping;
    private volatile bool _fatal;
    private int _failures;

    public FetchWorker(string name, IDictionary<string, string> settings, ILogger logger, TimeProvider time, BufferBudget budget)
        : this(name, onError => new ConsumerBuilder<byte[], byte[]>(settings).WithLogging(logger, name, onError).Build(), logger, time, budget)
    {
    }

    /// <param name="name">The worker's name, also its thread's.</param>
    /// <param name="createConsumer">Builds the consumer, passing every error it reports to the given callback.</param>
    /// <param name="logger">Where consume failures go.</param>
    /// <param name="time">The clock the backoff runs on.</param>
    /// <param name="budget">The silo's buffer budget.</param>
    public FetchWorker(string name, Func<Action<Error>, IConsumer<byte[], byte[]>> createConsumer, ILogger logger, TimeProvider time, BufferBudget budget)
    {
        _budget = budget;
        _name = name;
        _logger = logger;
        _time = time;
        _createConsumer = createConsumer;
        _router = new MessageRouter(_buffers);
        _consumer = createConsumer(OnError);
        _handle = HandleOf(_consumer);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public int PartitionCount => _buffers.Count;

    /// <summary>Consume calls that failed so far.</summary>
    public int ConsumeFailures => Volatile.Read(ref _failures);

    /// <summary>How many times the consumer was rebuilt after a fatal error.</summary>
    public int Rebuilds { get; private set; }

    public void Assign(PartitionBuffer buffer, Offset start)
    {
        lock (_consumerLock)
        {
            // The buffer is known before the partition is assigned: the worker's thread may receive
            // the partition's first records as soon as it is, and drops records it has no buffer for.
            _buffers[buffer.Partition] = buffer;
            try
            {
                _consumer.IncrementalAssign([new TopicPartitionOffset(buffer.Partition, start)]);
            }
            catch
            {
                _buffers.TryRemove(new KeyValuePair<TopicPartition, PartitionBuffer>(buffer.Partition, buffer));
                throw;
            }

            // librdkafka keeps a partition's pause through unassign and assign: a previous
            // lease's buffer may have left it paused, and this buffer starts unpaused.
            _consumer.Resume([buffer.Partition]);
        }
    }

    public void Unassign(PartitionBuffer buffer)
    {
        try
        {
            lock (_consumerLock)
            {
                if (_buffers.TryRemove(new KeyValuePair<TopicPartition, PartitionBuffer>(buffer.Partition, buffer)))
                {
                    _consumer.IncrementalUnassign([buffer.Partition]);
                }
            }
        }
        finally
        {
            buffer.Close();
        }
    }

    public void Pause(TopicPartition partition)
    {
        lock (_consumerLock)
        {
            _consumer.Pause([partition]);
        }
    }

    public void Resume(TopicPartition partition)
    {
        lock (_consumerLock)
        {
            _consumer.Resume([partition]);
        }
    }

    /// <summary>The high watermark from the latest fetch response (no broker round trip); -1 when unknown.</summary>
    public long HighWatermark(TopicPartition partition)
    {
        lock (_consumerLock)
        {
            var high = _consumer.GetWatermarkOffsets(partition).High;
            return high == Offset.Unset ? -1 : high.Value;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _stopped.Set();
        _thread.Join();
        try
        {
            _consumer.Close();
        }
        catch (KafkaException ex)
        {
            // A consumer left broken by a fatal error (its rebuild kept failing) cannot close; it is disposed all the same.
            LogCloseFailed(_logger, ex, _name);
        }

        _consumer.Dispose();
        _stopped.Dispose();
    }

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            _fatal = true;
        }
    }

    private void Run()
    {
        PartitionBuffer? last = null;
        var unsignalled = new List<PartitionBuffer>();
        var consecutiveFailures = 0;
        while (!_stopping)
        {
            var rebuilding = false;
            try
            {
                if (_fatal)
                {
                    rebuilding = true;
                    Rebuild();
                    rebuilding = false;
                }

                // While records wait unsignalled, only peek: as soon as the consumer has nothing
                // ready, the pumps are woken with everything that arrived in this fetch.
                ResumeWithinBudget();
                var timeoutMs = unsignalled.Count > 0 ? 0 : (int)PollTimeout.TotalMilliseconds;
                var arrived = _handle != IntPtr.Zero
                    ? _router.PollOne(_handle, timeoutMs, unsignalled, ref last)
                    : _router.PollOne(_consumer, timeoutMs, unsignalled, ref last);
                consecutiveFailures = 0;
                if (arrived is null)
                {
                    SignalAll(unsignalled);
                    last = null;

                    // Nothing ready: the next poll may wait a whole poll timeout, so the clock is read first.
                    _pollsSinceClockRead = PollsPerClockRead;
                    continue;
                }

                if (arrived.Value)
                {
                    last!.Signal();
                }

                if (_budget.Enforce())
                {
                    // The budget is spent: hand over what this fetch brought, and wait for the
                    // pumps to release some before consuming more.
                    SignalAll(unsignalled);
                    last = null;
                    WaitHandle.WaitAny([_budget.Room, _stopped.WaitHandle], BudgetWait);
                }
            }
            catch (Exception ex) when (!_stopping)
            {
                SignalAll(unsignalled);
                last = null;
                Interlocked.Increment(ref _failures);
                var error = (ex as KafkaException)?.Error;
                _fatal |= error?.IsFatal == true || error?.Code == Confluent.Kafka.ErrorCode.Local_Fatal;
                LogConsumeFailed(_logger, ex, _name, error?.Code.ToString() ?? ex.GetType().Name, _fatal);
                if (!_fatal || rebuilding)
                {
                    // A fatal error is acted on at once; a failed rebuild waits like any other failure.
                    Backoff(consecutiveFailures++);
                }
            }
        }
    }

    /// <summary>
    /// Every <see cref="ResumeCheckInterval"/> at most: resumes the partitions paused for holding too much once they are
    /// under their share of the budget. Not only once the silo is back under the budget: while
    /// the other partitions keep it full, a paused partition would otherwise wait for ever.
    /// </summary>
    private void ResumeWithinBudget()
    {
        if (++_pollsSinceClockRead < PollsPerClockRead)
        {
            return;
        }

        _pollsSinceClockRead = 0;
        var now = _time.GetTimestamp();
        if (_lastResumeCheck != 0 && _time.GetElapsedTime(_lastResumeCheck, now) < ResumeCheckInterval)
        {
            return;
        }

        _lastResumeCheck = now;
        foreach (var buffer in _buffers.Values)
        {
            if (buffer.IsPaused)
            {
                buffer.ResumeForBudget();
            }
        }
    }

    /// <summary>Waits before the next consume after a failure, or until the worker stops.</summary>
    private void Backoff(int attempt)
    {
        var delay = TimeSpan.FromTicks(Math.Min(FirstBackoff.Ticks << Math.Min(attempt, 16), MaxBackoff.Ticks));
        using var elapsed = new ManualResetEventSlim();
        using var timer = _time.CreateTimer(static state => ((ManualResetEventSlim)state!).Set(), elapsed, delay, Timeout.InfiniteTimeSpan);
        WaitHandle.WaitAny([elapsed.WaitHandle, _stopped.WaitHandle]);
    }

    /// <summary>
    /// Replaces a consumer that hit a fatal error. Each partition resumes at the next offset its
    /// buffer expects (records buffered but not yet processed are not fetched twice), and stays
    /// paused if its buffer had paused it.
    /// </summary>
    private void Rebuild()
    {
        var fresh = _createConsumer(OnError);
        IConsumer<byte[], byte[]> broken;
        try
        {
            lock (_consumerLock)
            {
                // Set up before it replaces the broken one: if that fails, the worker keeps the
                // broken consumer, marked fatal, and builds another after a backoff.
                _fatal = false;
                var buffers = _buffers.Values.ToList();
                fresh.IncrementalAssign(buffers.Select(f => new TopicPartitionOffset(f.Partition, f.NextOffset)));
                var paused = buffers.Where(f => f.IsPaused).Select(f => f.Partition).ToList();
                if (paused.Count > 0)
                {
                    fresh.Pause(paused);
                }

                var handle = HandleOf(fresh);
                broken = _consumer;
                _consumer = fresh;
                _handle = handle;
                Rebuilds++;
                LogRebuilt(_logger, _name, buffers.Count);
            }
        }
        catch
        {
            _fatal = true;
            fresh.Dispose();
            throw;
        }

        // Close would talk to the brokers through a client that can no longer be used.
        broken.Dispose();
    }

    /// <summary>The consumer's librdkafka handle to read in place, or zero (with a warning) to read through <c>Consume</c>.</summary>
    private IntPtr HandleOf(IConsumer<byte[], byte[]> consumer)
    {
        if (LibrdkafkaNative.TryClientHandle(consumer) is { } handle)
        {
            return handle;
        }

        LogReadingThroughConsume(_logger, _name, LibrdkafkaNative.ClientVersion);
        return IntPtr.Zero;
    }

    private static void SignalAll(List<PartitionBuffer> buffers)
    {
        foreach (var buffer in buffers)
        {
            buffer.Signal();
        }

        buffers.Clear();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Fetch worker {Worker} failed to consume ({Code}, fatal: {Fatal}); polling on")]
    private static partial void LogConsumeFailed(ILogger logger, Exception exception, string worker, string code, bool fatal);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Fetch worker {Worker} could not close its Kafka consumer; it is disposed")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string worker);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Fetch worker {Worker}: Confluent.Kafka {Version} does not expose its librdkafka handle, so records are read through Consume, more slowly than in place. Use the Confluent.Kafka version OrleansKafka was built with")]
    private static partial void LogReadingThroughConsume(ILogger logger, string worker, Version? version);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Fetch worker {Worker} rebuilt its Kafka consumer after a fatal error; {Partitions} partitions assigned again from their next offsets")]
    private static partial void LogRebuilt(ILogger logger, string worker, int partitions);
}
