using Orleans.Concurrency;

namespace OrleansKafka.Partitions;

/// <summary>
/// The grain that owns one Kafka partition for one consumer group. Its key is
/// <c>group/topic/partition</c> (see <see cref="PartitionGrainKey"/>).
/// </summary>
[Alias("OrleansKafka.IPartitionGrain")]
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>The live state of the partition: owner, offsets, lag, in-flight record, last error.</summary>
    [AlwaysInterleave]
    Task<PartitionStatus> GetStatusAsync();

    /// <summary>
    /// An operator's decision about the record the partition holds: retry, skip or dead-letter
    /// it. Skip and dead-letter are committed before processing goes on, so they hold across a
    /// move to another silo.
    /// </summary>
    /// <exception cref="InvalidOperationException">The partition is not holding a record on this silo.</exception>
    [AlwaysInterleave]
    Task ResolveHoldAsync(HoldDecision decision);

    /// <summary>
    /// An operator's decision about one key the partition holds (<c>OnFailure = HoldKey</c>):
    /// retry, skip or dead-letter the record it holds at, named by its offset (see
    /// <see cref="PartitionStatus.HeldKeys"/>); the key's waiting records then run in order. A
    /// skipped or dead-lettered record is remembered with the partition's control state until the
    /// commit passes it, so a restart does not run it again.
    /// </summary>
    /// <exception cref="InvalidOperationException">The partition holds no key at that offset on this silo, or a decision about it is being carried out.</exception>
    [AlwaysInterleave]
    Task ResolveKeyHoldAsync(long offset, HoldDecision decision);

    /// <summary>
    /// Stops processing the partition before its next record, until <see cref="ResumeAsync"/>:
    /// nothing more is processed or committed. The pause is stored with the grain's state, so it
    /// holds across a move to another silo and a restart (with a durable grain storage). Pausing a
    /// paused partition changes nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">No processor of this cluster reads the partition.</exception>
    [AlwaysInterleave]
    Task PauseAsync();

    /// <summary>Processing goes on from the committed offset. Resuming a partition that is not paused changes nothing.</summary>
    /// <exception cref="InvalidOperationException">No processor of this cluster reads the partition.</exception>
    [AlwaysInterleave]
    Task ResumeAsync();

    /// <summary>
    /// Moves the partition's committed offset to <paramref name="offset"/> (or
    /// <see cref="PartitionSeek.Beginning"/>, <see cref="PartitionSeek.End"/>), backwards or
    /// forwards, and restarts it there: processing stops, the offset is committed, and the
    /// partition is given up and granted again (an ownership change with reason Operator). A paused
    /// partition stays paused, at the new offset.
    /// </summary>
    /// <returns>The offset committed.</returns>
    /// <exception cref="InvalidOperationException">
    /// The offset is below the low watermark or above the high watermark, the partition is moving
    /// right now, or its record in flight did not finish within 15 s; nothing was changed.
    /// </exception>
    [AlwaysInterleave]
    Task<long> SeekAsync(long offset);

    /// <summary>
    /// Moves the partition to <paramref name="silo"/> (its endpoint, as status shows it): revoked
    /// from its owner and granted there within a few heartbeats. It stays there while that silo
    /// lives; the group's other partitions are balanced around it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The silo does not process the partition's consumer group.</exception>
    [AlwaysInterleave]
    Task MoveAsync(string silo);

    /// <summary>The partition's owners, oldest first (at most the last 20), each with its epoch, start and the reason it got the partition.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<OwnershipRecord>> GetHistoryAsync();
}
