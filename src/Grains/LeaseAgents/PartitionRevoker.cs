using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Delivery;
using OrleansKafka.Fetching;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// Gives held partitions up: stops the lease's processing, stops fetching and waits for the
/// delivery in flight, commits what was processed, and only once nothing of the partition is left
/// on this silo lets the <see cref="PartitionOwnership"/> forget it and queues its release for
/// the next heartbeat to report. Leases handed straight back (never started) join that queue too.
/// </summary>
internal sealed partial class PartitionRevoker(
    SemaphoreSlim beat,
    Func<Task> beatSoon,
    CancellationToken stopping,
    LeaseTable table,
    PartitionActivations activations,
    GroupControlClient control,
    FetchPool pool,
    IGrainFactory grains,
    ILogger logger)
{
    private readonly ConcurrentDictionary<string, Task> _revoking = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<LeaseGrant> _released = new();

    /// <summary>Whether the partition is being given up.</summary>
    public bool IsRevoking(string grainKey) => _revoking.ContainsKey(grainKey);

    /// <summary>Completes when every revoke started so far has finished.</summary>
    public Task WhenAllRevokedAsync() => Task.WhenAll(_revoking.Values);

    /// <summary>Queues releases for the next heartbeat to report: leases handed straight back, and again the releases of a heartbeat that failed.</summary>
    public void Enqueue(IEnumerable<LeaseGrant> released)
    {
        foreach (var grant in released)
        {
            _released.Enqueue(grant);
        }
    }

    /// <summary>Takes the releases waiting to be reported; a heartbeat that fails queues them again (<see cref="Enqueue"/>).</summary>
    public List<LeaseGrant> TakeReleased()
    {
        var released = new List<LeaseGrant>();
        while (_released.TryDequeue(out var grant))
        {
            released.Add(grant);
        }

        return released;
    }

    /// <summary>
    /// Starts giving <paramref name="feed"/>'s partition up, unless that is under way.
    /// <paramref name="gone"/> runs under the beat lock once nothing of the partition is left here;
    /// then, if the drained work was committed under the lease, its release is queued.
    /// </summary>
    public void Start(PartitionFeed feed, Action<PartitionFeed> gone)
    {
        // Registered before the revoke starts: a revoke that finishes at once (or on another thread
        // first) removes its entry at the end, and must find it there, or the partition could never
        // be acquired here again.
        var start = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_revoking.TryAdd(feed.Lease.GrainKey, start.Task.Unwrap()))
        {
            start.SetResult(RevokeAsync(feed, gone));
        }
    }

    private async Task RevokeAsync(PartitionFeed feed, Action<PartitionFeed> gone)
    {
        var lease = feed.Lease;
        var drained = false;
        try
        {
            lease.Revoke();
            await pool.StopAsync(feed);
            // A running silo waits for Kafka, holding the lease, so that a late commit cannot follow
            // a move; a stopping one does not wait for Kafka to come back.
            await control.FlushAsync(stopping);
            LogRevoked(logger, lease.GrainKey, lease.Epoch, lease.CommittedOffset);
            drained = lease.CanCommit;
        }
        catch (Exception ex)
        {
            LogRevokeFailed(logger, ex, lease.GrainKey);
        }
        finally
        {
            // Also when stopping failed half-way: no delivery may be in flight once the partition is reported free.
            feed.Close();
            await feed.Completion;
            lease.Lose();
            table.Remove(lease);

            // Under the beat lock, so that no heartbeat reports the partition neither held nor
            // released (the lease grain would free it as expired). Released only once nothing of
            // it is left here: the answer to the beat that reports the release may grant it to
            // this silo again (an operator's seek restarts it here), and a grant that found the
            // old feed still here was not taken up, then freed as expired.
            await beat.WaitAsync();
            try
            {
                gone(feed);
                _revoking.TryRemove(lease.GrainKey, out _);
                if (drained)
                {
                    _released.Enqueue(lease.ToRelease());
                }
            }
            finally
            {
                beat.Release();
            }
        }

        if (stopping.IsCancellationRequested)
        {
            return;
        }

        // Report the release at once rather than at the next tick, so the next owner starts sooner.
        // The answer names the next owner; then the partition grain's activation here moves there
        // ahead of the next owner's first delivery, which would otherwise reach this silo.
        await beatSoon();
        if (!activations.Contains(lease.GrainKey))
        {
            // No activation here to move, and calling the grain would create one.
            return;
        }

        try
        {
            await grains.GetGrain<IPartitionDeliveryGrain>(lease.GrainKey).ReleaseAsync();
        }
        catch (Exception ex)
        {
            // Only a shortcut: a stale activation answers the next owner NotOwner and moves there.
            LogReleaseNoticeFailed(logger, ex, lease.GrainKey);
        }
    }

    [LoggerMessage(EventId = 3211, Level = LogLevel.Information, Message = "Partition {GrainKey} (epoch {Epoch}) released after draining; committed offset {Offset}")]
    private static partial void LogRevoked(ILogger logger, string grainKey, long epoch, long offset);

    [LoggerMessage(EventId = 3212, Level = LogLevel.Error, Message = "Giving up partition {GrainKey} failed")]
    private static partial void LogRevokeFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(EventId = 3213, Level = LogLevel.Debug, Message = "Telling partition grain {GrainKey} that this silo gave its lease up failed")]
    private static partial void LogReleaseNoticeFailed(ILogger logger, Exception exception, string grainKey);
}
