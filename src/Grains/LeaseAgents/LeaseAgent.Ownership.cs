using Confluent.Kafka;
using OrleansKafka.Delivery;
using OrleansKafka.Fetching;
using OrleansKafka.Leases;

namespace OrleansKafka.LeaseAgents;

// Taking partitions up and giving them back: reading a granted partition's committed offset
// and starting its feed, draining and committing a partition being given up, and stopping a
// lease that ran out.
internal sealed partial class LeaseAgent
{
    private async Task AcquireAsync(List<LocalLease> leases)
    {
        try
        {
            // Only partitions whose committed offset was not handed over with the grant come here.
            var byPartition = leases.ToDictionary(l => l.Partition);
            foreach (var committed in await _control.CommittedAsync(byPartition.Keys, _settings.StartupTimeout))
            {
                if (committed.Offset.Value >= 0 && byPartition.TryGetValue(committed.TopicPartition, out var lease))
                {
                    lease.MarkCommitted(committed.Offset.Value);
                }
            }
        }
        catch (Exception ex)
        {
            // Not reported as held from the next beat on, so the lease grain grants them again.
            LogAcquireFailed(_logger, ex, _group, leases.Count);
            foreach (var lease in leases)
            {
                lease.Lose();
                _acquiring.TryRemove(new KeyValuePair<string, LocalLease>(lease.GrainKey, lease));
            }

            return;
        }

        // Under the beat lock, so no heartbeat sees a lease in neither list and shutdown sees every feed.
        await _beat.WaitAsync();
        try
        {
            foreach (var lease in leases)
            {
                _acquiring.TryRemove(new KeyValuePair<string, LocalLease>(lease.GrainKey, lease));
                if (lease.IsLost)
                {
                    // Ran out (or was granted anew) while its offset was read: nothing to hand back.
                    continue;
                }

                if (!lease.IsCurrent || _stop.IsCancellationRequested)
                {
                    // Taken back, or the silo is stopping: nothing was processed, hand it straight back.
                    _released.Enqueue(lease.ToRelease());
                    lease.Lose();
                    _ = BeatSoonAsync();
                    continue;
                }

                StartFeed(lease);
            }
        }
        finally
        {
            _beat.Release();
        }
    }

    /// <summary>Starts fetching and delivering a granted partition; called under the beat lock.</summary>
    private void StartFeed(LocalLease lease)
    {
        // Nothing committed yet: the consumer's auto.offset.reset decides where to begin.
        var start = lease.CommittedOffset >= 0 ? new Offset(lease.CommittedOffset) : Offset.Stored;
        _table.Add(lease);
        PartitionFeed feed;
        try
        {
            feed = _pool.Start(lease, start);
        }
        catch (Exception ex)
        {
            // Not listed as held from the next heartbeat on, so the lease grain grants it again.
            LogStartFailed(_logger, ex, lease.GrainKey);
            lease.Lose();
            _table.Remove(lease);
            return;
        }

        _held[lease.GrainKey] = feed;
        LogAcquired(_logger, lease.GrainKey, lease.Epoch, start.Value >= 0 ? $"committed offset {start.Value}" : "the auto.offset.reset position (nothing committed yet)");

        // A pump that ends while its lease is still current (an unexpected error, or an answer
        // that stopped it) would leave the partition owned with nothing processing it: give the
        // partition up, so the lease grain grants it again and a new feed starts.
        _ = feed.Completion.ContinueWith(
            _ =>
            {
                if (lease.IsCurrent && !_stop.IsCancellationRequested)
                {
                    LogFeedEnded(_logger, lease.GrainKey, lease.Epoch);
                    StartRevoke(feed);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Whether this silo runs a feed of the partition that is not being given up.</summary>
    public bool Holds(string grainKey) => _held.ContainsKey(grainKey) && !_revoking.ContainsKey(grainKey);

    /// <summary>
    /// Gives a partition's <paramref name="lease"/> up on this silo's own initiative (an operator's seek, after its commit):
    /// drained and released like a revoke, with <paramref name="reason"/> for the next grant, which
    /// starts the new owner (perhaps this silo again) at the committed offset.
    /// </summary>
    /// <returns>False when this silo holds no feed of the partition.</returns>
    public bool Restart(LocalLease lease, Partitions.OwnershipReason reason)
    {
        if (!_held.TryGetValue(lease.GrainKey, out var feed) || feed.Lease != lease || lease.IsLost)
        {
            // A lost lease's feed is being given up already, or was (its revoke removes it last).
            return false;
        }

        feed.Lease.ReleaseReason = reason;
        StartRevoke(feed);
        return true;
    }

    private void StartRevoke(PartitionFeed feed)
    {
        var key = feed.Lease.GrainKey;
        // Registered before the revoke starts: a revoke that finishes at once (or on another thread
        // first) removes its entry at the end, and must find it there, or the partition could never
        // be acquired here again.
        var start = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_revoking.TryAdd(key, start.Task.Unwrap()))
        {
            return;
        }

        start.SetResult(RevokeAsync(feed));
    }

    private async Task RevokeAsync(PartitionFeed feed)
    {
        var lease = feed.Lease;
        var drained = false;
        try
        {
            lease.Revoke();
            await _pool.StopAsync(feed);
            await _control.FlushAsync();
            LogRevoked(_logger, lease.GrainKey, lease.Epoch, lease.CommittedOffset);
            drained = lease.CanCommit;
        }
        catch (Exception ex)
        {
            LogRevokeFailed(_logger, ex, lease.GrainKey);
        }
        finally
        {
            // Also when stopping failed half-way: no delivery may be in flight once the partition is reported free.
            feed.Close();
            await feed.Completion;
            lease.Lose();
            _table.Remove(lease);

            // Under the beat lock, so that no heartbeat reports the partition neither held nor
            // released (the grain would free it as expired), and released only once nothing of it
            // is left here: the answer to the beat that reports the release may grant it to this
            // silo again (an operator's seek restarts it here), and a grant that found the old feed
            // still here was not taken up, then freed as expired.
            await _beat.WaitAsync();
            try
            {
                _held.TryRemove(new KeyValuePair<string, PartitionFeed>(lease.GrainKey, feed));
                _revoking.TryRemove(lease.GrainKey, out _);
                if (drained)
                {
                    _released.Enqueue(lease.ToRelease());
                }
            }
            finally
            {
                _beat.Release();
            }
        }

        if (_stop.IsCancellationRequested)
        {
            return;
        }

        // Report the release at once rather than at the next tick, so the next owner starts sooner.
        // The answer names the next owner; then the partition grain's activation here moves there
        // ahead of the next owner's first delivery, which would otherwise reach this silo.
        await BeatSoonAsync();
        if (!_activations.Contains(lease.GrainKey))
        {
            // No activation here to move, and calling the grain would create one.
            return;
        }

        try
        {
            await _grains.GetGrain<IPartitionDeliveryGrain>(lease.GrainKey).ReleaseAsync();
        }
        catch (Exception ex)
        {
            // Only a shortcut: a stale activation answers the next owner NotOwner and moves there.
            LogReleaseNoticeFailed(_logger, ex, lease.GrainKey);
        }
    }

    /// <summary>
    /// Gives up gracefully a held lease that stopped without being lost or given up: its deadline
    /// timer fired a moment early (timers count whole milliseconds) as a renewal moved the
    /// deadline. Renewals go on renewing such a lease, so it would otherwise sit unprocessed, at
    /// the next heartbeat answer or for as long as those fail to come. Does nothing for a lease
    /// that runs, or is lost or already being given up.
    /// </summary>
    private void GiveUpIfStopped(PartitionFeed feed)
    {
        if (!feed.Lease.IsCurrent && !feed.Lease.IsLost)
        {
            StartRevoke(feed);
        }
    }

    private void ExpireLeases()
    {
        foreach (var feed in _held.Values)
        {
            feed.ObserveHighWatermark();
            var lease = feed.Lease;
            if (lease.IsExpired && !lease.IsLost)
            {
                // Not renewed in time: another silo may own it by now, so stop without committing.
                LogExpired(_logger, lease.GrainKey, lease.Epoch);
                lease.Lose();
                StartRevoke(feed);
            }
            else
            {
                GiveUpIfStopped(feed);
            }
        }

        foreach (var lease in _acquiring.Values)
        {
            if (lease.IsExpired)
            {
                lease.Lose();
            }
        }
    }
}
