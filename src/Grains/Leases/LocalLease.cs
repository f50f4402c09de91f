using Confluent.Kafka;
using OrleansKafka.LeaseProtocol;

namespace OrleansKafka.Leases;

/// <summary>
/// This silo's lease on one partition: the epoch it processes under, when the lease runs out,
/// the token processors see, and the offsets waiting to be committed.
/// </summary>
/// <remarks>
/// <para>
/// The deadline is on this silo's lease clock (<see cref="TimeProvider.GetTimestamp"/> of
/// <c>LeaseProtocol.LeaseClock</c>: monotonic, and counting across a suspend),
/// counted from when the renewing heartbeat was sent, so a wall-clock jump cannot stretch it
/// and the lease grain, counting from when it received that heartbeat, always ends it later.
/// At the deadline the token fires by itself; nothing is committed after it, and a renewal
/// that arrives after it is refused: the lease is over, and the partition is granted again
/// under a new epoch.
/// </para>
/// <para>
/// Two stages of letting go: <see cref="Revoke"/> tells processors to stop (the token fires) but
/// still lets the drained work be committed; <see cref="Lose"/> (expiry, release) fences the
/// lease so nothing is committed under it again.
/// </para>
/// </remarks>
internal sealed class LocalLease
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _lostSource;
    private readonly TimeProvider _time;
    private long _expiresAt;
    private CompletedAhead? _completedAhead;
    private CompletedAhead? _committedAhead;
    private long _processedOffset = -1;
    private long _checkpointOffset = -1;
    private long _committedOffset = -1;
    private long _highWatermark = -1;
    private volatile bool _lost;

    /// <summary>A lease whose deadline <paramref name="expiresAt"/> is a <see cref="TimeProvider.GetTimestamp"/> value of <paramref name="time"/>.</summary>
    public LocalLease(string group, TopicPartition partition, long epoch, long expiresAt, TimeProvider time)
    {
        Group = group;
        Partition = partition;
        Epoch = epoch;
        GrainKey = Partitions.PartitionGrainKey.Format(group, partition.Topic, partition.Partition.Value);
        _time = time;
        Load = new PartitionLoadMeter(time);
        _expiresAt = expiresAt;
        GrantedAt = time.GetUtcNow();
        _stop = new CancellationTokenSource(Remaining(expiresAt), time);
        _lostSource = new CancellationTokenSource(Remaining(expiresAt), time);
    }

    public string Group { get; }

    /// <summary>When this silo received the grant, by its wall clock: for people (the ownership history), never for deadlines.</summary>
    public DateTimeOffset GrantedAt { get; }

    /// <summary>Why the lease grain granted this lease (the partition's ownership history shows it).</summary>
    public Partitions.OwnershipReason Reason { get; init; }

    /// <summary>For a rebalance by load: the figures that made it (the ownership history shows them); null otherwise.</summary>
    public string? Detail { get; init; }

    public TopicPartition Partition { get; }

    public long Epoch { get; }

    public string GrainKey { get; }

    /// <summary>What the partition costs this silo under this lease, reported with the heartbeats for placement by load.</summary>
    public PartitionLoadMeter Load { get; }

    /// <summary>Fires when the lease is revoked, lost, runs out, or the silo shuts down.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>
    /// Fires when the lease is lost or runs out, not when it is revoked: while a revoked lease is
    /// drained, work already sent under it (a key grain's call) is waited for until this fires.
    /// </summary>
    public CancellationToken LostToken => _lostSource.Token;

    /// <summary>The deadline, a <see cref="TimeProvider.GetTimestamp"/> value.</summary>
    public long ExpiresAt => Interlocked.Read(ref _expiresAt);

    public bool IsLost => _lost;

    /// <summary>True once the deadline has passed on this silo's monotonic clock.</summary>
    public bool IsExpired => _time.GetTimestamp() >= ExpiresAt;

    /// <summary>True while processing may go on: not revoked, not lost, not expired.</summary>
    public bool IsCurrent => !_stop.IsCancellationRequested && CanCommit;

    /// <summary>True while offsets may still be committed under this lease: not lost and not expired.</summary>
    public bool CanCommit => !_lost && !IsExpired;

    /// <summary>The next offset to process, as last reported by the partition grain; -1 until then.</summary>
    public long ProcessedOffset => Interlocked.Read(ref _processedOffset);

    /// <summary>
    /// For a processor with exactly-once state: the offset its checkpoint is stored at (committed
    /// with the offsets, so Kafka knows a checkpoint exists); -1 for none.
    /// </summary>
    public long CheckpointOffset
    {
        get => Interlocked.Read(ref _checkpointOffset);
        set => Interlocked.Exchange(ref _checkpointOffset, value);
    }

    /// <summary>
    /// True once the partition grain kept records of this lease waiting in its memory behind a
    /// held key (OnFailure HoldKey): a later activation under the same lease does not have them,
    /// and restarts the partition from its committed offset to fetch them again.
    /// </summary>
    public bool RecordsWaitInMemory { get; set; }

    /// <summary>The offset last committed to Kafka (or found committed when the lease began); -1 when unknown.</summary>
    public long CommittedOffset => Interlocked.Read(ref _committedOffset);

    public long HighWatermark => Interlocked.Read(ref _highWatermark);

    /// <summary>
    /// Moves the deadline to <paramref name="expiresAt"/>. Refused (false) once the lease has run
    /// out or was lost: its processing has stopped, so a late answer must not make it current
    /// again with nothing running under it. A revoked lease is renewed, but stays stopped: only
    /// the time its drained work may still be committed in grows. A lease this silo gives up on
    /// its own (an operator's seek) is renewed by the lease grain until its release is reported,
    /// and a drain slowed by a busy silo would otherwise outlast the lease and lose that commit.
    /// </summary>
    public bool Renew(long expiresAt)
    {
        lock (_gate)
        {
            if (_lost || IsExpired)
            {
                return false;
            }

            if (expiresAt > _expiresAt)
            {
                Interlocked.Exchange(ref _expiresAt, expiresAt);
                _stop.CancelAfter(Remaining(expiresAt));
                _lostSource.CancelAfter(Remaining(expiresAt));
            }

            return true;
        }
    }

    public void StoreProcessed(long nextOffset)
    {
        // Offsets only move forward; a stale write from a slower path must not move it back.
        long current;
        do
        {
            current = Interlocked.Read(ref _processedOffset);
            if (nextOffset <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _processedOffset, nextOffset, current) != current);
    }

    public void MarkCommitted(long offset) => Interlocked.Exchange(ref _committedOffset, offset);

    /// <summary>
    /// Key order: the records completed past <paramref name="next"/> (the processed offset), as
    /// the commit note's text; committed with the next commit of that offset, also when the
    /// offset itself did not move (a held key keeps it while other keys complete).
    /// </summary>
    public void StoreCompletedAhead(long next, string? ranges)
    {
        var current = Volatile.Read(ref _completedAhead);
        if (current?.Next == next && current.Ranges == ranges)
        {
            return;
        }

        Volatile.Write(ref _completedAhead, ranges is null ? null : new CompletedAhead(next, ranges));
    }

    /// <summary>What <see cref="StoreCompletedAhead"/> stored last; null for nothing.</summary>
    public CompletedAhead? CompletedAheadOf(long next) => Volatile.Read(ref _completedAhead) is { } ahead && ahead.Next == next ? ahead : null;

    /// <summary>Whether the completed records past <paramref name="processed"/> (the processed offset as the committer read it) changed since they were last committed.</summary>
    public bool CompletedAheadUncommitted(long processed) =>
        Volatile.Read(ref _completedAhead) is { } ahead && ahead.Next == processed && !ReferenceEquals(ahead, Volatile.Read(ref _committedAhead));

    /// <summary>The commit of <paramref name="offset"/> carried <paramref name="ahead"/>.</summary>
    public void MarkCommitted(long offset, CompletedAhead? ahead)
    {
        MarkCommitted(offset);
        Volatile.Write(ref _committedAhead, ahead);
    }

    /// <summary>Records completed past <see cref="Next"/>, as ranges in the commit note's text.</summary>
    public sealed record CompletedAhead(long Next, string Ranges);

    /// <summary>
    /// An operator's seek, once committed: processed and committed both move to
    /// <paramref name="offset"/>, backwards too. Only while nothing of the partition is processed.
    /// </summary>
    public void SeekTo(long offset)
    {
        // What completed past the old offset says nothing past the new one (a seek to the same
        // offset replays from there): no map goes with the next commit.
        Volatile.Write(ref _completedAhead, null);
        Volatile.Write(ref _committedAhead, null);
        Interlocked.Exchange(ref _processedOffset, offset);
        Interlocked.Exchange(ref _committedOffset, offset);
    }

    /// <summary>Why this lease is given up when it is released; an operator's seek or move says so in the next owner's history.</summary>
    public Partitions.OwnershipReason ReleaseReason { get; set; } = Partitions.OwnershipReason.Rebalance;

    /// <summary>What the partition cost under this lease since the last sample (<see cref="PartitionLoadMeter.Sample"/>), for the heartbeat; null while unknown.</summary>
    public PartitionLoad? SampleLoad() =>
        Load.Sample(HighWatermark, ProcessedOffset >= 0 ? ProcessedOffset : CommittedOffset) is { } figures
            ? new PartitionLoad(Partition.Topic, Partition.Partition.Value, figures.Cost)
            : null;

    public void ObserveHighWatermark(long highWatermark) => Interlocked.Exchange(ref _highWatermark, highWatermark);

    public void Revoke()
    {
        // Not under the gate: processors' cancellation callbacks run here. A renewal after it moves
        // only the deadline (CancelAfter does nothing to a cancelled source).
        try
        {
            _stop.Cancel();
        }
        catch (AggregateException)
        {
            // A processor's cancellation callback threw; the lease is revoked all the same.
        }
    }

    public void Lose()
    {
        _lost = true;
        Revoke();
        try
        {
            _lostSource.Cancel();
        }
        catch (AggregateException)
        {
            // A waiter's cancellation callback threw; the lease is lost all the same.
        }
    }

    public LeaseGrant ToGrant() => new(Partition.Topic, Partition.Partition.Value, Epoch);

    /// <summary>The lease as reported when given up: with the committed offset, for the lease grain to hand to the next owner.</summary>
    public LeaseGrant ToRelease() => ToGrant() with { Offset = CommittedOffset, Reason = ReleaseReason };

    private TimeSpan Remaining(long expiresAt)
    {
        var remaining = _time.GetElapsedTime(_time.GetTimestamp(), expiresAt);

        // A timer cannot run longer than about 49 days; a lease that long (tests) never runs out.
        return remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining > MaxTimer ? Timeout.InfiniteTimeSpan : remaining;
    }

    private static readonly TimeSpan MaxTimer = TimeSpan.FromDays(30);
}
