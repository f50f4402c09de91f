using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;

namespace OrleansKafka.Fetching;

/// <summary>
/// The bounded buffer of one leased partition: its fetch worker appends records (packed in
/// native memory, see <see cref="RecordBuffer"/>), its pump takes them a delivery at a time. A
/// buffer over its own bound, or over its share when the silo's budget is spent, pauses the
/// partition at the consumer; draining resumes it. Every byte is counted against the silo's
/// <see cref="BufferBudget"/> from fetch until its delivery is done with.
/// </summary>
/// <remarks>
/// Locks: this buffer's lock is taken inside nothing but itself, and never while another
/// buffer's is held. The worker calls <see cref="Append"/> holding its consumer's lock (which
/// <see cref="FetchWorker.Pause"/> and <see cref="FetchWorker.Resume"/> take too); so the members
/// the worker reads under that lock (<see cref="IsPaused"/>, <see cref="NextOffset"/>) are read
/// without this buffer's lock, and the budget pauses buffers from the workers' threads outside
/// every buffer's lock (<see cref="BufferBudget.Enforce"/>).
/// </remarks>
internal sealed partial class PartitionBuffer
{
    /// <summary>
    /// About what the client's objects around a built record cost beyond its key and value (the
    /// result, the message, its headers, topic and offset objects).
    /// </summary>
    private const int RecordObjectBytes = 512;

    private readonly Lock _lock = new();
    private readonly RecordBuffer _records = new();
    private readonly LocalLease _lease;
    private readonly BufferBudget _budget;
    private readonly ILogger _logger;
    private readonly int _maxBytes;
    private readonly bool _buildsWholeDeliveries;
    private long _bytes;
    private long _nextExpected;
    private long _inFlight;
    private int _deliverySize;
    private volatile bool _paused;
    private volatile bool _closed;
    private volatile bool _holding;
    private TaskCompletionSource? _waiter;

    // An operator decided about a held key: the next take returns even without records.
    private bool _nudged;
    private OffsetOutOfRange? _reset;

    /// <summary>
    /// A buffer expecting <paramref name="startOffset"/> first. <paramref name="buildsWholeDeliveries"/>:
    /// whether the grain builds all of a delivery's records as client objects at once (key order,
    /// batch processors); then a delivery in flight also counts against the budget for them.
    /// </summary>
    public PartitionBuffer(LocalLease lease, FetchWorker worker, long startOffset, int maxBytes, int deliverySize, BufferBudget budget, bool buildsWholeDeliveries, ILogger logger)
    {
        _deliverySize = deliverySize;
        _lease = lease;
        Worker = worker;
        _nextExpected = startOffset;
        _maxBytes = maxBytes;
        _budget = budget;
        _buildsWholeDeliveries = buildsWholeDeliveries;
        _logger = logger;
        _budget.Register(this);
    }

    public FetchWorker Worker { get; }

    public TopicPartition Partition => _lease.Partition;

    public bool IsClosed => _closed;

    /// <summary>Whether the grain builds all of a delivery's records at once (key order, batch processors).</summary>
    public bool BuildsWholeDeliveries => _buildsWholeDeliveries;

    /// <summary>How many records a delivery takes: the worker wakes the pump once that many wait. The pump sizes it.</summary>
    public int DeliverySize
    {
        get => Volatile.Read(ref _deliverySize);
        set => Volatile.Write(ref _deliverySize, value);
    }

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

    /// <summary>
    /// The offset of the next record this buffer expects from the consumer. Read without the lock:
    /// only the worker's thread writes it, and only that thread asks (when rebuilding its consumer).
    /// </summary>
    public long NextOffset => Volatile.Read(ref _nextExpected);

    /// <summary>True while the partition is paused at the consumer (this buffer or the budget is full).</summary>
    public bool IsPaused => _paused;

    /// <summary>True while the grain holds at a record of the delivery in flight, waiting for an operator (the pump says so).</summary>
    public bool IsHolding
    {
        get => _holding;
        set => _holding = value;
    }

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
                Worker.Pause(Partition);
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
                Worker.Resume(Partition);
                _paused = false;
            }
        }
    }

    /// <summary>
    /// Called on the worker's thread for each fetched record. The pump is not woken here but by
    /// <see cref="Signal"/>, once the worker has drained what the consumer had ready, so that one
    /// delivery carries a whole fetch rather than a record.
    /// </summary>
    /// <returns>True when a delivery's worth of records waits and the pump should be woken now.</returns>
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

            // Blocks of at most a quarter of the buffer's share of the silo's budget, so that many
            // partitions' half-filled blocks cannot add up to more than the budget.
            var allocated = _records.Add(in record, (int)Math.Min(_budget.Share / 4, RecordBuffer.LargestBlockBytes));
            _nextExpected = offset + 1;
            _bytes += allocated;
            _budget.Add(allocated);
            if (!_paused && _bytes >= _maxBytes)
            {
                // Under the lock so that a concurrent resume cannot slip in between the decision and the call.
                _paused = true;
                Worker.Pause(Partition);
            }

            return _records.Count >= DeliverySize;
        }
    }

    /// <summary>
    /// The consumer stopped fetching the partition because <paramref name="offset"/>, where it was
    /// to read next, is not in Kafka. Called on the worker's thread; the pump hands it to the grain
    /// once the records buffered before it are delivered.
    /// </summary>
    public void ReportOffsetReset(long offset, string reason)
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_closed || _reset is not null)
            {
                return;
            }

            _reset = new OffsetOutOfRange(offset, reason);
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>The offset reset the consumer reported, once every record buffered before it has been taken; null otherwise.</summary>
    public OffsetOutOfRange? PendingReset
    {
        get
        {
            lock (_lock)
            {
                return _closed || _records.Count > 0 ? null : _reset;
            }
        }
    }

    /// <summary>The pump's next take returns, with no records if none are buffered (an operator decided about a held key).</summary>
    public void Nudge()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            // Not while the pump waits for an operator: the decision's signal sends the held delivery again.
            _nudged |= !_holding;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
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

    /// <summary>Closes the buffer: buffered records are dropped (the next owner fetches them again from the committed offset).</summary>
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

    /// <summary>
    /// The next delivery's records, at most <see cref="DeliverySize"/>, still packed; none once the
    /// buffer is closed, or once every record before an offset reset is taken (<see cref="PendingReset"/>).
    /// They count against the silo's budget until <see cref="EndDelivery"/>.
    /// </summary>
    public async Task<PackedRecords?> TakeAsync(CancellationToken token)
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
                    _nudged = false;
                    return TakeLocked();
                }

                if (_nudged)
                {
                    _nudged = false;
                    return PackedRecords.Empty(Partition.Topic, Partition.Partition.Value);
                }

                if (_reset is not null)
                {
                    return null;
                }

                _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                ready = _waiter.Task;
            }

            await ready.WaitAsync(token);
        }
    }

    /// <summary>The delivery taken last is done with: what it counted leaves the silo's budget.</summary>
    public void EndDelivery() => _budget.Remove(Interlocked.Exchange(ref _inFlight, 0));

    /// <summary>
    /// Takes records out of the native buffer, still packed. From here until the delivery is done
    /// with, they count against the silo's budget at the managed bytes they take instead of the
    /// native bytes they took, plus, when the grain builds them all at once, what their client
    /// objects cost.
    /// </summary>
    private PackedRecords TakeLocked()
    {
        var (taken, freed) = _records.Take(DeliverySize, Partition.Topic, Partition.Partition.Value);
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
                Worker.Resume(Partition);
                _paused = false;
            }
            catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
            {
                // Still paused: the worker's next check tries again.
                LogResumeFailed(_logger, ex, _lease.GrainKey);
            }
        }

        Interlocked.Exchange(ref _inFlight, inFlight);
        _budget.Add(inFlight - freed);
        return taken;
    }

    /// <summary>
    /// Whether a paused partition may fetch again: its buffer under half its bound and under its
    /// share of the silo's budget, or empty (a share can round down to nothing).
    /// </summary>
    private bool HasRoomLocked() => _bytes == 0 || _bytes < Math.Min(_maxBytes / 2, _budget.Share);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Resuming partition {GrainKey} at the consumer failed; trying again shortly")]
    private static partial void LogResumeFailed(ILogger logger, Exception exception, string grainKey);
}
