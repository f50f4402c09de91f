using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Fetching;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// The partitions of one group this silo holds, takes up and gives back: reads a granted
/// partition's committed offset and starts its feed, drains and commits a partition being given
/// up before reporting it released, and stops at once a lease that ran out.
/// </summary>
/// <remarks>
/// Lock: the agent's beat lock (shared with its <see cref="LeaseHeartbeat"/>). A heartbeat takes
/// its snapshot of held and released leases and applies its answer under it; a feed starts, and a
/// given-up partition leaves the held set and joins the released queue, under it too, so that no
/// heartbeat reports a partition neither held nor released (the lease grain would free it as
/// expired) and shutdown sees every feed.
/// </remarks>
internal sealed partial class PartitionOwnership(
    string group,
    SemaphoreSlim beat,
    Func<Task> beatSoon,
    CancellationToken stopping,
    LeaseTable table,
    GroupControlClient control,
    FetchPool pool,
    PartitionRevoker revoker,
    TimeSpan readTimeout,
    bool firstStartsAtEnd,
    TimeProvider time,
    ILogger logger)
{
    private readonly ConcurrentDictionary<string, PartitionFeed> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LocalLease> _acquiring = new(StringComparer.Ordinal);
    private readonly List<Task> _acquisitions = [];

    /// <summary>Whether this silo runs a feed of the partition that is not being given up.</summary>
    public bool Holds(string grainKey) => _held.ContainsKey(grainKey) && !revoker.IsRevoking(grainKey);

    /// <summary>The leases a heartbeat reports held: running, being given up, and being taken up.</summary>
    public List<LeaseGrant> HeldGrants() => [.. _held.Values.Select(f => f.Lease.ToGrant()), .. _acquiring.Values.Select(l => l.ToGrant())];

    /// <summary>The leases a renewal asks to renew: every lease held or being taken up that may still commit.</summary>
    public List<LocalLease> Renewable() => [.. _held.Values.Select(f => f.Lease).Concat(_acquiring.Values).Where(l => l.CanCommit)];

    /// <summary>Applies the grants of a heartbeat answer, renewing to <paramref name="expiresAt"/>; under the beat lock.</summary>
    public void Apply(IReadOnlyList<LeaseGrant> grants, long expiresAt, Func<string, bool> isGroupTopic)
    {
        var granted = new HashSet<string>(StringComparer.Ordinal);
        var fresh = new List<LocalLease>();
        foreach (var grant in grants)
        {
            if (!isGroupTopic(grant.Topic))
            {
                // Not a topic this silo processes for the group: it holds nothing of it, and says so in its next heartbeat.
                continue;
            }

            var key = PartitionGrainKey.Format(group, grant.Topic, grant.Partition);
            granted.Add(key);
            var current = _held.TryGetValue(key, out var feed) ? feed.Lease : _acquiring.GetValueOrDefault(key);
            if (current is not null && current.Epoch == grant.Epoch)
            {
                // Renewed also while this silo gives the lease up on its own (an operator's seek,
                // its feed ended): the grain renews it until the release is reported, so a drain
                // slowed by a busy silo can still commit, as long as answers keep coming.
                if (!current.Renew(expiresAt) && !current.IsLost && current.IsExpired)
                {
                    // The lease ran out before this answer came: its processing has stopped, so it
                    // is given up (not reported again) and granted anew under a new epoch.
                    LogExpired(logger, key, current.Epoch);
                    current.Lose();
                    if (feed is not null)
                    {
                        StartRevoke(feed);
                    }
                }
                else if (feed is not null)
                {
                    GiveUpIfStopped(feed);
                }
            }
            else if (current is not null)
            {
                // Granted again under a newer epoch (the grain took it back meanwhile): the old lease
                // is no longer current, so it stops without committing; the new one is taken up next beat.
                current.Lose();
                if (feed is not null)
                {
                    StartRevoke(feed);
                }
            }
            else if (!revoker.IsRevoking(key))
            {
                var lease = new LocalLease(group, new TopicPartition(grant.Topic, grant.Partition), grant.Epoch, expiresAt, time) { Reason = grant.Reason, Detail = grant.Detail };
                if (grant.Offset >= 0)
                {
                    // The last owner's committed offset, handed over with the grant.
                    lease.MarkCommitted(grant.Offset);
                }

                fresh.Add(lease);
            }
        }

        foreach (var feed in _held.Values.Where(f => !granted.Contains(f.Lease.GrainKey)))
        {
            StartRevoke(feed);
        }

        foreach (var lease in _acquiring.Values.Where(l => !granted.Contains(l.GrainKey)))
        {
            // Taken back before it started: the acquisition hands it back when it finishes.
            lease.Revoke();
        }

        TakeUp(fresh);
    }

    /// <summary>The lease of the partition's feed on this silo (running or being given up), if there is one.</summary>
    public LocalLease? HeldLease(string grainKey) => _held.TryGetValue(grainKey, out var feed) ? feed.Lease : null;

    /// <summary>Stops leases that ran out, and gives up gracefully held leases that stopped; at each heartbeat's start.</summary>
    public void Expire()
    {
        foreach (var feed in _held.Values)
        {
            feed.ObserveHighWatermark();
            var lease = feed.Lease;
            if (lease.IsExpired && !lease.IsLost)
            {
                // Not renewed in time: another silo may own it by now, so stop without committing.
                LogExpired(logger, lease.GrainKey, lease.Epoch);
                lease.Lose();
                StartRevoke(feed);
            }
            else
            {
                GiveUpIfStopped(feed);
            }
        }

        foreach (var lease in _acquiring.Values.Where(l => l.IsExpired))
        {
            lease.Lose();
        }
    }

    /// <summary>Gives every held partition up (the silo stops, or the lease grain refuses its topics).</summary>
    public void RevokeAll()
    {
        foreach (var feed in _held.Values)
        {
            StartRevoke(feed);
        }
    }

    /// <summary>
    /// At shutdown, after <see cref="RevokeAll"/> under the beat lock: waits for the acquisitions
    /// still reading offsets (they hand their leases back) and for every revoke to finish.
    /// </summary>
    public async Task DrainAsync(Task[] acquisitions)
    {
        await Task.WhenAll(acquisitions);
        await revoker.WhenAllRevokedAsync();
    }

    /// <summary>The acquisitions started (those that finished may still be among them); read under the beat lock.</summary>
    public Task[] Acquisitions() => [.. _acquisitions];

    /// <summary>
    /// Gives a partition's <paramref name="lease"/> up on this silo's own initiative (an operator's seek, after its commit):
    /// drained and released like a revoke, with <paramref name="reason"/> for the next grant, which
    /// starts the new owner (perhaps this silo again) at the committed offset.
    /// </summary>
    /// <returns>False when this silo holds no feed of the partition under that lease.</returns>
    public bool Restart(LocalLease lease, OwnershipReason reason)
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

    /// <summary>Takes fresh grants up; under the beat lock.</summary>
    private void TakeUp(List<LocalLease> fresh)
    {
        if (fresh.Count == 0)
        {
            return;
        }

        if (stopping.IsCancellationRequested)
        {
            // Granted as this silo began to stop: handed straight back (nothing was processed),
            // so the final heartbeat frees them rather than leaving them to expire.
            revoker.Enqueue(fresh.Select(l => l.ToRelease()));
            return;
        }

        // A partition handed over with its committed offset starts at once, within this beat.
        foreach (var lease in fresh.Where(l => l.CommittedOffset >= 0))
        {
            StartFeed(lease);
        }

        // The others off the heartbeat, so that renewals never wait for them: reading committed
        // offsets may wait on a slow group coordinator for as long as a lease, and the other
        // leases must be renewed meanwhile.
        List<LocalLease> unknown = [.. fresh.Where(l => l.CommittedOffset < 0)];
        if (unknown.Count > 0)
        {
            foreach (var lease in unknown)
            {
                _acquiring[lease.GrainKey] = lease;
            }

            _acquisitions.Add(AcquireAsync(unknown));
            _acquisitions.RemoveAll(t => t.IsCompleted);
        }
    }

    private async Task AcquireAsync(List<LocalLease> leases)
    {
        try
        {
            var byPartition = leases.ToDictionary(l => l.Partition);
            foreach (var committed in await control.CommittedAsync(byPartition.Keys, readTimeout))
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
            LogAcquireFailed(logger, ex, group, leases.Count);
            foreach (var lease in leases)
            {
                lease.Lose();
                _acquiring.TryRemove(new KeyValuePair<string, LocalLease>(lease.GrainKey, lease));
            }

            return;
        }

        await beat.WaitAsync();
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

                if (!lease.IsCurrent || stopping.IsCancellationRequested)
                {
                    // Taken back, or the silo is stopping: nothing was processed, hand it straight back.
                    revoker.Enqueue([lease.ToRelease()]);
                    lease.Lose();
                    _ = beatSoon();
                    continue;
                }

                StartFeed(lease);
            }
        }
        finally
        {
            beat.Release();
        }
    }

    /// <summary>Starts fetching and delivering a granted partition; under the beat lock.</summary>
    private void StartFeed(LocalLease lease)
    {
        // Nothing committed yet: the beginning, or the end when Kafka:Consumer:auto.offset.reset says latest.
        var start = lease.CommittedOffset >= 0 ? new Offset(lease.CommittedOffset) : firstStartsAtEnd ? Offset.End : Offset.Beginning;
        table.Add(lease);
        PartitionFeed feed;
        try
        {
            feed = pool.Start(lease, start);
        }
        catch (Exception ex)
        {
            // Not listed as held from the next heartbeat on, so the lease grain grants it again.
            LogStartFailed(logger, ex, lease.GrainKey);
            lease.Lose();
            table.Remove(lease);
            return;
        }

        _held[lease.GrainKey] = feed;
        LogAcquired(logger, lease.GrainKey, lease.Epoch, start.Value >= 0 ? $"committed offset {start.Value}" : $"the {(firstStartsAtEnd ? "end" : "beginning")} (nothing committed yet)");

        // A pump that ends while its lease is still current (an unexpected error, or an answer
        // that stopped it) would leave the partition owned with nothing processing it: give the
        // partition up, so the lease grain grants it again and a new feed starts.
        _ = feed.Completion.ContinueWith(
            _ =>
            {
                if (lease.IsCurrent && !stopping.IsCancellationRequested)
                {
                    LogFeedEnded(logger, lease.GrainKey, lease.Epoch);
                    StartRevoke(feed);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Gives up gracefully a held lease that stopped without being lost or given up: its deadline
    /// timer fired a moment early (timers count whole milliseconds) as a renewal moved the
    /// deadline. Renewals go on renewing such a lease, so it would otherwise sit unprocessed. Does
    /// nothing for a lease that runs, or is lost or already being given up.
    /// </summary>
    private void GiveUpIfStopped(PartitionFeed feed)
    {
        if (!feed.Lease.IsCurrent && !feed.Lease.IsLost)
        {
            StartRevoke(feed);
        }
    }

    private void StartRevoke(PartitionFeed feed) =>
        revoker.Start(feed, gone => _held.TryRemove(new KeyValuePair<string, PartitionFeed>(gone.Lease.GrainKey, gone)));

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Partition {GrainKey} acquired with lease epoch {Epoch}, starting at {Start}")]
    private static partial void LogAcquired(ILogger logger, string grainKey, long epoch, string start);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Lease on partition {GrainKey} (epoch {Epoch}) expired before it was renewed; processing stopped without a commit")]
    private static partial void LogExpired(ILogger logger, string grainKey, long epoch);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Reading the committed offsets of {Count} partitions granted to this silo in consumer group {Group} failed; they are handed back and granted again")]
    private static partial void LogAcquireFailed(ILogger logger, Exception exception, string group, int count);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Error, Message = "Starting to fetch partition {GrainKey} failed; it is handed back to be granted again")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Warning, Message = "The feed of partition {GrainKey} (epoch {Epoch}) ended while its lease was current; giving the partition up so that it is granted again")]
    private static partial void LogFeedEnded(ILogger logger, string grainKey, long epoch);
}
