using Confluent.Kafka;

namespace OrleansKafka.Leasing;

/// <summary>
/// This silo's lease on one partition: the epoch it processes under, when the lease runs out,
/// the token processors see, and the offsets waiting to be committed.
/// </summary>
/// <remarks>
/// Two stages of letting go: <see cref="Revoke"/> tells processors to stop (the token fires) but
/// still lets the drained work be committed; <see cref="Lose"/> (expiry, release) fences the
/// lease so nothing is committed under it again.
/// </remarks>
internal sealed class LocalLease(string group, TopicPartition partition, long epoch, DateTimeOffset expiresAt, TimeProvider time)
{
    private readonly CancellationTokenSource _stop = new();
    private long _expiresAtTicks = expiresAt.UtcTicks;
    private long _processedOffset = -1;
    private long _committedOffset = -1;
    private long _highWatermark = -1;
    private volatile bool _lost;

    public string Group { get; } = group;

    public TopicPartition Partition { get; } = partition;

    public long Epoch { get; } = epoch;

    public string GrainKey { get; } = Partitions.PartitionGrainKey.Format(group, partition.Topic, partition.Partition.Value);

    /// <summary>Fires when the lease is revoked, lost, or the silo shuts down.</summary>
    public CancellationToken Token => _stop.Token;

    public DateTimeOffset ExpiresAt => new(Interlocked.Read(ref _expiresAtTicks), TimeSpan.Zero);

    public bool IsLost => _lost;

    /// <summary>True while processing may go on: not revoked, not lost, not expired.</summary>
    public bool IsCurrent => !_stop.IsCancellationRequested && CanCommit;

    /// <summary>True while offsets may still be committed under this lease: not lost and not expired.</summary>
    public bool CanCommit => !_lost && time.GetUtcNow() < ExpiresAt;

    /// <summary>The next offset to process, as last reported by the partition grain; -1 until then.</summary>
    public long ProcessedOffset => Interlocked.Read(ref _processedOffset);

    /// <summary>The offset last committed to Kafka (or found committed when the lease began); -1 when unknown.</summary>
    public long CommittedOffset => Interlocked.Read(ref _committedOffset);

    public long HighWatermark => Interlocked.Read(ref _highWatermark);

    public void Renew(DateTimeOffset expiresAt) => Interlocked.Exchange(ref _expiresAtTicks, expiresAt.UtcTicks);

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

    public void ObserveHighWatermark(long highWatermark) => Interlocked.Exchange(ref _highWatermark, highWatermark);

    public void Revoke()
    {
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
    }

    public LeaseGrant ToGrant() => new(Partition.Topic, Partition.Partition.Value, Epoch);

    /// <summary>The lease as reported when given up: with the committed offset, for the lease grain to hand to the next owner.</summary>
    public LeaseGrant ToRelease() => ToGrant() with { Offset = CommittedOffset };
}
