using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Fetching;
using OrleansKafka.Partitions;
using Polly;
using Polly.Retry;

namespace OrleansKafka.Leasing;

/// <summary>
/// This silo's side of one consumer group: heartbeats to the group's lease grain, starts
/// fetching partitions it is granted, drains and commits partitions it is asked to give up
/// before reporting them released, and stops at once on a lease that has run out.
/// </summary>
/// <remarks>
/// Heartbeats go out every renew interval, and at once when the lease grain wakes the agent
/// because a grant or a revoke is waiting for it, or when a drained partition can be reported
/// released: a partition changes hands in a few round trips rather than in renew intervals.
/// </remarks>
internal sealed partial class LeaseAgent : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, PartitionFeed> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LocalLease> _acquiring = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _revoking = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<LeaseGrant> _released = new();
    private readonly SemaphoreSlim _beat = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Waker _waker;
    private readonly string _group;
    private readonly IReadOnlyList<string> _topics;
    private readonly GroupRegistration _registration;
    private readonly LeaseAgentSettings _settings;
    private readonly LeaseTable _table;
    private readonly OwnerDirectory _owners;
    private readonly PartitionActivations _activations;
    private readonly GroupControlClient _control;
    private readonly FetchPool _pool;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Dictionary<string, int> _partitionCounts = new(StringComparer.Ordinal);
    private long _metadataReadAt;
    private Task _loop = Task.CompletedTask;
    private Task _metadataRefresh = Task.CompletedTask;
    private ILeaseAgentObserver? _wakerReference;
    private readonly Lock _nextBeatLock = new();
    private Task? _nextBeat;
    private readonly List<Task> _acquisitions = [];
    private bool _started;
    private bool _rejected;

    public LeaseAgent(
        GroupRegistration registration,
        LeaseAgentSettings settings,
        LeaseTable table,
        OwnerDirectory owners,
        PartitionActivations activations,
        GroupControlClient control,
        FetchPool pool,
        IGrainFactory grains,
        TimeProvider time,
        ILogger<LeaseAgent> logger)
    {
        _group = registration.Group;
        _topics = [.. registration.Processors.Values.Distinct(StringComparer.Ordinal)];
        _registration = registration;
        _settings = settings;
        _table = table;
        _owners = owners;
        _activations = activations;
        _control = control;
        _pool = pool;
        _grains = grains;
        _time = time;
        _logger = logger;
        _waker = new Waker(this);
    }

    /// <summary>Reads the topics' metadata (failing if a topic is missing or Kafka does not answer) and starts heartbeating.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _partitionCounts = await _control.PartitionCountsAsync(_topics, _settings.StartupTimeout).WaitAsync(cancellationToken);
        _metadataReadAt = _time.GetTimestamp();
        LogStarted(_logger, _group, string.Join(", ", _partitionCounts.Select(t => $"{t.Key} ({t.Value} partitions)")));

        // Created off the lifecycle's context: Orleans refuses an object reference made inside a grain's.
        _wakerReference = await Task.Run(() => _grains.CreateObjectReference<ILeaseAgentObserver>(_waker), cancellationToken);

        // The processor check and the first heartbeat are part of start-up, so a silo that
        // disagrees with the cluster on a processor's group or the group's topics fails to start.
        // They are retried while the grains are unreachable (their silo may be dying), but not
        // past the start-up timeout.
        try
        {
            await FirstBeatRetry().ExecuteAsync(
                async token =>
                {
                    if (await _grains.GetGrain<IConsumerGroupCatalogGrain>(0).CheckAsync(_registration).WaitAsync(token) is { } conflict)
                    {
                        throw new GroupConfigurationConflictException($"Consumer group '{_group}': {conflict}");
                    }

                    await BeatAsync(token);
                },
                cancellationToken);
        }
        catch (Exception ex) when (ex is not GroupConfigurationConflictException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Consumer group '{_group}': the cluster's group catalog or the group's lease grain did not answer within {Configuration.KafkaProcessingOptions.SectionName}:StartupTimeout ({_settings.StartupTimeout}); this silo cannot learn which partitions it owns.",
                ex);
        }

        _started = true;
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    private ResiliencePipeline FirstBeatRetry() => new ResiliencePipelineBuilder { TimeProvider = _time }
        .AddTimeout(_settings.StartupTimeout)
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not GroupConfigurationConflictException and not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = _settings.RenewInterval,
            OnRetry = args =>
            {
                LogFirstHeartbeatRetry(_logger, args.Outcome.Exception, _group, args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>Gives up every partition gracefully: processors are cancelled, drained work committed, leases released.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;

        // A heartbeat answer being applied (a wake-up's) finishes first, so no partition is acquired after this.
        Task[] acquisitions;
        await _beat.WaitAsync();
        try
        {
            foreach (var feed in _held.Values)
            {
                StartRevoke(feed);
            }

            acquisitions = [.. _acquisitions];
        }
        finally
        {
            _beat.Release();
        }

        // Acquisitions still reading offsets hand their leases back, for the final heartbeat to report.
        await Task.WhenAll(acquisitions);
        await Task.WhenAll(_revoking.Values);
        try
        {
            await BeatAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The leases expire on their own; the next owner waits a lease length at most.
            LogReleaseFailed(_logger, ex, _group);
        }

        if (_wakerReference is not null)
        {
            _grains.DeleteObjectReference<ILeaseAgentObserver>(_wakerReference);
        }

        _pool.Dispose();
        _control.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_settings.RenewInterval, _time);
        do
        {
            await BeatOrLogAsync();
        }
        while (await WaitAsync(timer));
    }

    /// <summary>A heartbeat while running: a failure is logged (leases are kept until they expire), stopping ends it quietly.</summary>
    private async Task BeatOrLogAsync()
    {
        try
        {
            await BeatAsync(_stop.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogHeartbeatFailed(_logger, ex, _group);
        }
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        await _beat.WaitAsync(cancellationToken);
        try
        {
            // The leases this beat renews run from now, on this silo's monotonic clock.
            var sentAt = _time.GetTimestamp();
            ExpireLeases();
            StartMetadataRefresh(sentAt);
            var released = new List<LeaseGrant>();
            while (_released.TryDequeue(out var grant))
            {
                released.Add(grant);
            }

            var heartbeat = new SiloHeartbeat
            {
                SiloId = _registration.SiloId,
                Topics = _partitionCounts,
                Held = [.. _held.Values.Select(f => f.Lease.ToGrant()), .. _acquiring.Values.Select(l => l.ToGrant())],
                Released = released,
                Leaving = _stop.IsCancellationRequested,
                Agent = _wakerReference,
                Weight = _settings.Weight,
            };
            LeaseResponse response;
            try
            {
                // The catalog keeps no state of its own: re-registering with every beat rebuilds it after its silo dies.
                await _grains.GetGrain<IConsumerGroupCatalogGrain>(0).RegisterAsync(_registration);
                // Bounded: a lease grain on a silo that died (or froze) does not answer until membership
                // says so, and every later beat would wait behind this one while the leases run out.
                response = await _grains.GetGrain<IPartitionLeaseGrain>(_group).HeartbeatAsync(heartbeat).WaitAsync(_settings.HeartbeatTimeout, _time, cancellationToken);
            }
            catch
            {
                foreach (var grant in released)
                {
                    _released.Enqueue(grant);
                }

                throw;
            }

            if (response.Rejected is not null)
            {
                Reject(new GroupConfigurationConflictException($"Consumer group '{_group}': {response.Rejected}"));
                return;
            }

            if (_rejected)
            {
                _rejected = false;
                LogAcceptedAgain(_logger, _group);
            }

            _owners.Update(_group, response.Owners);
            Apply(response, sentAt + (long)(response.LeaseDuration.TotalSeconds * _time.TimestampFrequency));
        }
        finally
        {
            _beat.Release();
        }
    }

    /// <summary>
    /// The lease grain refused this silo's topics for the group. At start-up that fails the
    /// start; later (the grain restarted and other silos reported first) the silo drains and gives
    /// up every partition, and keeps heartbeating so that it is taken back once the silos it
    /// disagrees with are gone.
    /// </summary>
    private void Reject(GroupConfigurationConflictException conflict)
    {
        if (!_started)
        {
            throw conflict;
        }

        if (!_rejected)
        {
            _rejected = true;
            LogRejected(_logger, conflict.Message);
        }

        foreach (var feed in _held.Values)
        {
            StartRevoke(feed);
        }
    }

    /// <summary>
    /// A heartbeat soon, off the caller's thread, that starts after this call: requests made
    /// before it starts share it (several partitions released together report in one beat). The
    /// task completes when the beat is done, failed or not.
    /// </summary>
    private Task BeatSoonAsync()
    {
        lock (_nextBeatLock)
        {
            if (_stop.IsCancellationRequested)
            {
                return Task.CompletedTask;
            }

            return _nextBeat ??= Task.Run(async () =>
            {
                try
                {
                    // Once the beat in progress (if any) is done, requests from now on need another beat.
                    await _beat.WaitAsync(_stop.Token);
                    _beat.Release();
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                lock (_nextBeatLock)
                {
                    _nextBeat = null;
                }

                await BeatOrLogAsync();
            });
        }
    }

    private void Apply(LeaseResponse response, long expiresAt)
    {
        var granted = new HashSet<string>(StringComparer.Ordinal);
        var fresh = new List<LocalLease>();
        foreach (var grant in response.Grants)
        {
            if (!_partitionCounts.ContainsKey(grant.Topic))
            {
                // Not a topic this silo processes for the group: it holds nothing of it, and says so in its next heartbeat.
                continue;
            }

            var key = PartitionGrainKey.Format(_group, grant.Topic, grant.Partition);
            granted.Add(key);
            var current = _held.TryGetValue(key, out var feed) ? feed.Lease : _acquiring.GetValueOrDefault(key);
            if (current is not null && current.Epoch == grant.Epoch)
            {
                if (!current.Renew(expiresAt) && !current.IsLost)
                {
                    // The lease ran out before this answer came: its processing has stopped, so it
                    // is given up (not reported again) and granted anew under a new epoch.
                    LogExpired(_logger, key, current.Epoch);
                    current.Lose();
                    if (feed is not null)
                    {
                        StartRevoke(feed);
                    }
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
            else if (!_revoking.ContainsKey(key))
            {
                var lease = new LocalLease(_group, new TopicPartition(grant.Topic, grant.Partition), grant.Epoch, expiresAt, _time);
                if (grant.Offset >= 0)
                {
                    // The last owner's committed offset, handed over with the grant.
                    lease.MarkCommitted(grant.Offset);
                }

                fresh.Add(lease);
            }
        }

        foreach (var feed in _held.Values)
        {
            if (!granted.Contains(feed.Lease.GrainKey))
            {
                StartRevoke(feed);
            }
        }

        foreach (var lease in _acquiring.Values)
        {
            if (!granted.Contains(lease.GrainKey))
            {
                // Taken back before it started: the acquisition hands it back when it finishes.
                lease.Revoke();
            }
        }

        if (fresh.Count > 0 && _stop.IsCancellationRequested)
        {
            // Granted as this silo began to stop: handed straight back (nothing was processed),
            // so the final heartbeat frees them rather than leaving them to expire.
            foreach (var lease in fresh)
            {
                _released.Enqueue(lease.ToRelease());
            }
        }
        else if (fresh.Count > 0)
        {
            // Off the heartbeat: reading committed offsets may wait on a slow group coordinator
            // for as long as a lease, and the other leases must be renewed meanwhile.
            foreach (var lease in fresh)
            {
                _acquiring[lease.GrainKey] = lease;
            }

            var acquisition = AcquireAsync(fresh);
            _acquisitions.Add(acquisition);
            _acquisitions.RemoveAll(t => t.IsCompleted);
        }
    }

    private async Task AcquireAsync(List<LocalLease> leases)
    {
        try
        {
            // Kafka is asked only for partitions whose committed offset was not handed over with the grant.
            var unknown = leases.Where(l => l.CommittedOffset < 0).ToDictionary(l => l.Partition);
            if (unknown.Count > 0)
            {
                foreach (var committed in await _control.CommittedAsync(unknown.Keys, _settings.StartupTimeout))
                {
                    if (committed.Offset.Value >= 0 && unknown.TryGetValue(committed.TopicPartition, out var lease))
                    {
                        lease.MarkCommitted(committed.Offset.Value);
                    }
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

                // Nothing committed yet: the consumer's auto.offset.reset decides where to begin.
                var start = lease.CommittedOffset >= 0 ? new Offset(lease.CommittedOffset) : Offset.Stored;
                _table.Add(lease);
                _held[lease.GrainKey] = _pool.Start(lease, start);
                LogAcquired(_logger, lease.GrainKey, lease.Epoch, start.Value >= 0 ? $"committed offset {start.Value}" : "the auto.offset.reset position (nothing committed yet)");
            }
        }
        finally
        {
            _beat.Release();
        }
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
        try
        {
            lease.Revoke();
            await _pool.StopAsync(feed);
            await _control.FlushAsync();
            LogRevoked(_logger, lease.GrainKey, lease.Epoch, lease.CommittedOffset);
            if (lease.CanCommit)
            {
                _released.Enqueue(lease.ToRelease());
            }
        }
        catch (Exception ex)
        {
            LogRevokeFailed(_logger, ex, lease.GrainKey);
        }
        finally
        {
            lease.Lose();
            _table.Remove(lease);
            _held.TryRemove(new KeyValuePair<string, PartitionFeed>(lease.GrainKey, feed));
            _revoking.TryRemove(lease.GrainKey, out _);
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

    private void ExpireLeases()
    {
        foreach (var feed in _held.Values)
        {
            var lease = feed.Lease;
            if (lease.IsExpired && !lease.IsLost)
            {
                // Not renewed in time: another silo may own it by now, so stop without committing.
                LogExpired(_logger, lease.GrainKey, lease.Epoch);
                lease.Lose();
                StartRevoke(feed);
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

    /// <summary>Re-reads partition counts in the background: a slow broker must not delay lease renewal.</summary>
    private void StartMetadataRefresh(long now)
    {
        if (_time.GetElapsedTime(_metadataReadAt, now) < _settings.MetadataRefreshInterval || !_metadataRefresh.IsCompleted)
        {
            return;
        }

        _metadataReadAt = now;
        _metadataRefresh = Task.Run(async () =>
        {
            try
            {
                _partitionCounts = await _control.PartitionCountsAsync(_topics, _settings.StartupTimeout);
            }
            catch (Exception ex)
            {
                LogMetadataFailed(_logger, ex, _group);
            }
        });
    }

    /// <summary>What the lease grain calls to wake the agent; the agent keeps it alive (Orleans holds it weakly).</summary>
    private sealed class Waker(LeaseAgent agent) : ILeaseAgentObserver
    {
        public Task WakeAsync()
        {
            _ = agent.BeatSoonAsync();
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer group {Group} started on this silo; topics: {Topics}")]
    private static partial void LogStarted(ILogger logger, string group, string topics);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey} acquired with lease epoch {Epoch}, starting at {Start}")]
    private static partial void LogAcquired(ILogger logger, string grainKey, long epoch, string start);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey} (epoch {Epoch}) released after draining; committed offset {Offset}")]
    private static partial void LogRevoked(ILogger logger, string grainKey, long epoch, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease on partition {GrainKey} (epoch {Epoch}) expired before it was renewed; processing stopped without a commit")]
    private static partial void LogExpired(ILogger logger, string grainKey, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the committed offsets of {Count} partitions granted to this silo in consumer group {Group} failed; they are handed back and granted again")]
    private static partial void LogAcquireFailed(ILogger logger, Exception exception, string group, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Giving up partition {GrainKey} failed")]
    private static partial void LogRevokeFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease heartbeat of consumer group {Group} failed; leases are kept until they expire")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telling partition grain {GrainKey} that this silo gave its lease up failed")]
    private static partial void LogReleaseNoticeFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "First lease heartbeat of consumer group {Group} failed; attempt {Attempt} follows")]
    private static partial void LogFirstHeartbeatRetry(ILogger logger, Exception? exception, string group, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Conflict} This silo gives up its partitions of the group and is taken back once the silos it disagrees with are gone.")]
    private static partial void LogRejected(ILogger logger, string conflict);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer group {Group}: the lease grain accepts this silo's topics again")]
    private static partial void LogAcceptedAgain(ILogger logger, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting the released leases of consumer group {Group} at shutdown failed")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing topic metadata of consumer group {Group} failed; keeping the last partition counts")]
    private static partial void LogMetadataFailed(ILogger logger, Exception exception, string group);
}
