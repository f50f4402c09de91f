using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;
using Polly;
using Polly.Retry;

namespace OrleansKafka.Fetching;

/// <summary>
/// Moves the records of one leased partition from its fetch worker to its partition grain: a
/// bounded buffer the worker fills (packed in native memory, see <see cref="RecordBuffer"/>),
/// and a pump that hands the buffered records to the grain one delivery at a time. A full
/// buffer pauses the partition at the consumer; draining it resumes.
/// </summary>
internal sealed partial class PartitionFeed
{
    private static readonly TimeSpan MaxResendDelay = TimeSpan.FromMilliseconds(250);
    private readonly Lock _lock = new();
    private readonly FetchWorker _worker;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxBytes;
    private readonly int _maxBatch;
    private int _deliverySize;
    private readonly Orleans.Runtime.SiloAddress? _silo;
    private readonly ResiliencePipeline<DeliveryOutcome> _resend;
    private readonly HoldSignals _holds;
    private readonly BufferBudget _budget;
    private readonly RecordBuffer _records = new();
    private readonly bool _buildsWholeDeliveries;
    private long _bytes;
    private long _nextExpected;
    private volatile bool _paused;
    private volatile bool _closed;
    private volatile bool _holding;
    private long _inFlight;
    private TaskCompletionSource? _waiter;

    /// <remarks>
    /// <c>buildsWholeDeliveries</c>: whether the grain builds all of a delivery's records as client
    /// objects at once (key order, batch processors); then a delivery in flight also counts against
    /// the budget for them.
    /// </remarks>
    public PartitionFeed(LocalLease lease, FetchWorker worker, long startOffset, IGrainFactory grains, TimeProvider time, ILogger logger, int maxBytes, int maxBatch, Orleans.Runtime.SiloAddress? silo = null, HoldSignals? holds = null, BufferBudget? budget = null, bool buildsWholeDeliveries = false)
    {
        _buildsWholeDeliveries = buildsWholeDeliveries;
        _holds = holds ?? new HoldSignals();
        _budget = budget ?? new BufferBudget(long.MaxValue);
        _budget.Register(this);
        Lease = lease;
        _worker = worker;
        _nextExpected = startOffset;
        _grains = grains;
        _time = time;
        _logger = logger;
        _maxBytes = maxBytes;
        _maxBatch = maxBatch;
        _deliverySize = Math.Min(FirstDeliverySize, maxBatch);
        _silo = silo;
        _resend = BuildResend();
    }

    public LocalLease Lease { get; }

    public FetchWorker Worker => _worker;

    public bool IsClosed => _closed;

    /// <summary>Records waiting for the pump.</summary>
    public int BufferedCount
    {
        get
        {
            lock (_lock)
            {
                return _records.Count;
            }
        }
    }

    public TopicPartition Partition => Lease.Partition;

    /// <summary>
    /// The offset of the next record this feed expects from the consumer. Read without the lock:
    /// only the worker's thread writes it, and only that thread asks (when rebuilding its consumer).
    /// </summary>
    public long NextOffset => Volatile.Read(ref _nextExpected);

    /// <summary>
    /// True while the full buffer keeps the partition paused at the consumer. Read without the
    /// lock, so that the worker can ask while holding its consumer's lock (the pump takes the two
    /// the other way round).
    /// </summary>
    public bool IsPaused => _paused;

    /// <summary>True while the grain holds at a record of this feed's delivery, waiting for an operator.</summary>
    public bool IsHolding => _holding;

    /// <summary>What the delivery in flight counts against the silo's budget; 0 between deliveries.</summary>
    public long InFlightBytes => Interlocked.Read(ref _inFlight);

    /// <summary>Bytes buffered and not yet taken by the pump; read without the lock (a moment stale at most).</summary>
    public long BufferedBytes => Interlocked.Read(ref _bytes);

    /// <summary>Pauses fetching because the silo's buffer budget is spent; resumed by <see cref="ResumeForBudget"/>.</summary>
    public void PauseForBudget()
    {
        lock (_lock)
        {
            if (!_paused && !_closed)
            {
                _paused = true;
                _worker.Pause(Partition);
            }
        }
    }

    /// <summary>Resumes a paused partition once its buffer is under half its bound and under its share of the silo's budget.</summary>
    public void ResumeForBudget()
    {
        lock (_lock)
        {
            if (_paused && !_closed && HasRoomLocked())
            {
                // Resumed first: if that throws, the partition stays paused and is tried again.
                _worker.Resume(Partition);
                _paused = false;
            }
        }
    }

    /// <summary>Completes when the pump has stopped and no delivery is in flight.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start() => Completion = Task.Run(PumpAsync);

    /// <summary>
    /// Called on the worker's thread for each fetched record. The pump is not woken here but by
    /// <see cref="Signal"/>, once the worker has drained what the consumer had ready, so that one
    /// delivery carries a whole fetch rather than a record.
    /// </summary>
    /// <returns>True when enough records wait for a full delivery and the pump should be woken now.</returns>
    public bool Append<TRecord>(in TRecord record)
        where TRecord : struct, IFetchedRecord
    {
        lock (_lock)
        {
            var offset = record.Offset;
            if (_closed || offset < _nextExpected)
            {
                // A record fetched again after a pause or a re-assignment: already buffered or processed.
                return false;
            }

            // Blocks of at most a quarter of the feed's share of the silo's budget, so that many
            // partitions' half-filled blocks cannot add up to more than the budget.
            var allocated = _records.Add(in record, (int)Math.Min(_budget.Share / 4, RecordBuffer.LargestBlockBytes));
            _nextExpected = offset + 1;
            _bytes += allocated;
            _budget.Add(allocated);
            if (!_paused && _bytes >= _maxBytes)
            {
                // Under the lock so that a concurrent resume cannot slip in between the decision and the call.
                _paused = true;
                _worker.Pause(Partition);
            }

            return _records.Count >= Volatile.Read(ref _deliverySize);
        }
    }

    /// <summary>Wakes the pump if it waits for records.</summary>
    public void Signal()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_records.Count == 0)
            {
                return;
            }

            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>Stops the feed: buffered records are dropped (the next owner fetches them again from the committed offset).</summary>
    public void Close()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            var freed = _records.Clear();
            if (!_closed)
            {
                _budget.Remove(freed);
                _budget.Unregister(this);
            }

            _closed = true;
            _bytes = 0;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    private async Task PumpAsync()
    {
        var grain = _grains.GetGrain<IPartitionDeliveryGrain>(Lease.GrainKey);
        var token = Lease.Token;
        try
        {
            while (await TakeAsync(token) is ({ } records, var bytes))
            {
                DeliveryOutcome outcome;
                Interlocked.Exchange(ref _inFlight, bytes);
                try
                {
                    ObserveHighWatermark();
                    // Key order reads each record to find its key and again, out of order, when it
                    // runs; a batch processor reads many at once (and telemetry and the size check
                    // read them too). Packed records keep only the last one built, so those get
                    // theirs built once, here; the budget counted them so in TakeLocked.
                    IReadOnlyList<ConsumeResult<byte[], byte[]>> built = _buildsWholeDeliveries ? [.. records] : records;
                    var delivery = new Immutable<PartitionDelivery>(new PartitionDelivery(built, Lease.Epoch, _silo));
                    var sent = _time.GetTimestamp();
                    outcome = await DeliverAsync(grain, delivery, token);
                    if (outcome == DeliveryOutcome.Completed)
                    {
                        SizeNextDelivery(records.Count, _time.GetElapsedTime(sent));
                    }

                    while (outcome == DeliveryOutcome.Held)
                    {
                        // The grain holds at a record of this delivery: the same records go again once
                        // an operator has decided. Fetching goes on until the buffer is full, then pauses.
                        _holding = true;
                        try
                        {
                            await _holds.WaitAsync(Lease.GrainKey, token);
                        }
                        finally
                        {
                            _holding = false;
                        }

                        outcome = await DeliverAsync(grain, delivery, token);
                    }
                }
                finally
                {
                    // The records count against the silo's budget until their delivery is done with.
                    Interlocked.Exchange(ref _inFlight, 0);
                    _budget.Remove(bytes);
                }

                if (outcome != DeliveryOutcome.Completed)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Revoked or shutting down: the drain that follows commits what was processed.
        }
        catch (Exception ex)
        {
            LogPumpFailed(_logger, ex, Lease.GrainKey);
        }
    }

    private ValueTask<DeliveryOutcome> DeliverAsync(IPartitionDeliveryGrain grain, Immutable<PartitionDelivery> delivery, CancellationToken token) =>
        _resend.ExecuteAsync(static async (state, _) => await state.grain.DeliverAsync(state.delivery), (grain, delivery), token);

    /// <summary>
    /// Resends a delivery that failed (a timeout or a lost activation: safe, because the grain
    /// skips offsets it has done) or reached an activation without the lease, until the lease
    /// ends. Short at first: a stale activation that answered NotOwner is usually gone within
    /// milliseconds. Capped at a quarter of a second: after a silo dies, calls to its partition
    /// grains fail until membership declares it dead, and a longer backoff would add its last
    /// wait to every failover.
    /// </summary>
    private ResiliencePipeline<DeliveryOutcome> BuildResend() => new ResiliencePipelineBuilder<DeliveryOutcome> { TimeProvider = _time }
        .AddRetry(new RetryStrategyOptions<DeliveryOutcome>
        {
            ShouldHandle = new PredicateBuilder<DeliveryOutcome>().Handle<Exception>().HandleResult(DeliveryOutcome.NotOwner),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(10),
            MaxDelay = MaxResendDelay,
            OnRetry = args =>
            {
                if (args.Outcome.Exception is { } ex)
                {
                    LogDeliveryFailed(_logger, ex, Lease.GrainKey, args.RetryDelay);
                }
                else
                {
                    LogNotOwner(_logger, Lease.GrainKey);
                }

                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>
    /// Sizes deliveries to about <see cref="DeliveryTime"/> of this partition's processing, as
    /// measured on the last one, between <see cref="SmallestDelivery"/> records and the configured
    /// most, moving by at most a factor of two at a time. Records handed over as client objects
    /// live until their delivery is processed: a fast processor gets whole fetches at once, while
    /// a slow one is not handed seconds' worth of records that would outlive several collections.
    /// </summary>
    private void SizeNextDelivery(int delivered, TimeSpan took)
    {
        var size = Volatile.Read(ref _deliverySize);
        if (delivered < size)
        {
            // The buffer held less than a delivery: says nothing about the pace.
            return;
        }

        var wanted = took <= TimeSpan.Zero ? 2.0 * size : delivered * (DeliveryTime / took);
        var next = (int)Math.Clamp(wanted, size / 2.0, 2.0 * size);
        Volatile.Write(ref _deliverySize, Math.Clamp(next, Math.Min(SmallestDelivery, _maxBatch), _maxBatch));
    }

    /// <summary>
    /// Copies the high watermark of the latest fetch response to the lease, for status: also while
    /// no record arrives, so an empty or caught-up partition shows Kafka's figure rather than none.
    /// </summary>
    public void ObserveHighWatermark()
    {
        if (_worker.HighWatermark(Partition) is var high and >= 0)
        {
            Lease.ObserveHighWatermark(high);
        }
    }

    /// <summary>The next records to deliver and the bytes they count for, or none once the feed is closed.</summary>
    private async Task<(PackedRecords Records, long Bytes)?> TakeAsync(CancellationToken token)
    {
        while (true)
        {
            Task ready;
            lock (_lock)
            {
                if (_closed)
                {
                    return null;
                }

                if (_records.Count > 0)
                {
                    return TakeLocked();
                }

                _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                ready = _waiter.Task;
            }

            await ready.WaitAsync(token);
        }
    }

    /// <summary>
    /// Takes the next delivery's records out of the native buffer, still packed. From here until
    /// the delivery is done with, they count against the silo's budget at the managed bytes they
    /// take instead of the native bytes they took, plus, when the grain builds them all at once,
    /// what their client objects cost.
    /// </summary>
    private (PackedRecords Records, long Bytes) TakeLocked()
    {
        var (taken, freed) = _records.Take(_deliverySize, Partition.Topic, Partition.Partition.Value);
        _bytes -= freed;
        var inFlight = taken.Bytes;
        if (_buildsWholeDeliveries)
        {
            // The objects hold another copy of each key and value.
            inFlight += taken.Bytes + ((long)taken.Count * RecordObjectBytes);
        }

        if (_paused && HasRoomLocked())
        {
            try
            {
                _worker.Resume(Partition);
                _paused = false;
            }
            catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
            {
                // Still paused: the worker's next check tries again.
                LogResumeFailed(_logger, ex, Lease.GrainKey);
            }
        }

        _budget.Add(inFlight - freed);
        return (taken, inFlight);
    }

    /// <summary>
    /// Whether a paused partition may fetch again: its buffer under half its bound and under its
    /// share of the silo's budget, or empty (a share can round down to nothing).
    /// </summary>
    private bool HasRoomLocked() => _bytes == 0 || _bytes < Math.Min(_maxBytes / 2, _budget.Share);

    /// <summary>
    /// What the client's objects around a built record cost beyond its key and value (the result,
    /// the message, its headers, topic and offset objects): the backlog benchmark measured about
    /// 500 bytes a record.
    /// </summary>
    private const int RecordObjectBytes = 512;

    /// <summary>The records of a partition's first delivery.</summary>
    private const int FirstDeliverySize = 64;

    /// <summary>The fewest records a delivery is sized down to.</summary>
    private const int SmallestDelivery = 16;

    /// <summary>About how long a delivery's processing should take.</summary>
    private static readonly TimeSpan DeliveryTime = TimeSpan.FromMilliseconds(250);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering records to partition grain {GrainKey} failed; resending in {Delay}")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string grainKey, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition grain {GrainKey} answered from a silo without its lease (it moved here); resending once that activation is gone")]
    private static partial void LogNotOwner(ILogger logger, string grainKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resuming partition {GrainKey} at the consumer failed; trying again shortly")]
    private static partial void LogResumeFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Error, Message = "The feed of partition {GrainKey} stopped unexpectedly")]
    private static partial void LogPumpFailed(ILogger logger, Exception exception, string grainKey);
}
