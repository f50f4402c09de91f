using Microsoft.Extensions.Logging;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// A silo's heartbeat to one group's lease grain, and its answers: each beat reports the leases
/// held and released and renews those the answer grants; the grants themselves go to the
/// <see cref="PartitionOwnership"/>. While a heartbeat is slow to be answered, renewals of the
/// leases held go out in its place.
/// </summary>
/// <remarks>
/// Beats go one at a time under the agent's beat lock, since each answer is applied in turn. A
/// lease renewed by an answer runs from when its beat (or renewal) was sent, on this silo's
/// monotonic clock, so the lease grain, counting from when it received it, always ends it later.
/// </remarks>
internal sealed partial class LeaseHeartbeat(
    GroupRegistration registration,
    LeaseAgentSettings settings,
    SemaphoreSlim beat,
    CancellationToken stopping,
    TopicMetadata metadata,
    PartitionOwnership ownership,
    PartitionRevoker revoker,
    OwnerDirectory owners,
    IGrainFactory grains,
    TimeProvider time,
    ILogger logger)
{
    private readonly Lock _nextBeatLock = new();
    private Task? _nextBeat;
    private bool _rejected;
    private bool _started;
    private long _answeredAt;
    private long _leaseDurationTicks;
    private long _sequence;
    private readonly JoinReadiness _readiness = new(registration.Group, settings.Weight, settings.StartupTimeout, time, logger);

    /// <summary>The reference the lease grain wakes the agent through, sent with each beat; null until <see cref="Attach"/>.</summary>
    public ILeaseAgentObserver? AgentReference { get; private set; }

    /// <summary>Sets <see cref="AgentReference"/>, once, at the start.</summary>
    public void Attach(ILeaseAgentObserver agentReference) => AgentReference = agentReference;

    /// <summary>The agent has started: a refusal from now on gives the partitions up instead of failing the start.</summary>
    public void MarkStarted() => _started = true;

    /// <summary>The silo has finished starting: it asks for its share of the partitions once its heartbeats are answered on time (<see cref="JoinReadiness"/>).</summary>
    public void MarkReady()
    {
        if (_readiness.MarkReady())
        {
            _ = BeatSoonAsync();
        }
    }

    /// <summary>Whether the lease grain refuses this silo's processors for the group (see <see cref="Reject"/>).</summary>
    public bool IsRejected => Volatile.Read(ref _rejected);

    /// <summary>How long ago, on this silo's monotonic clock, the lease grain last answered a heartbeat or a renewal; null if it never has.</summary>
    public TimeSpan? SinceLastAnswer()
    {
        var answeredAt = Volatile.Read(ref _answeredAt);
        return answeredAt == 0 ? null : time.GetElapsedTime(answeredAt);
    }

    /// <summary>How long after a failed heartbeat the next one goes, rather than a renew interval on.</summary>
    internal static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A heartbeat while running: a failure is logged (leases are kept until they expire), stopping
    /// ends it quietly. A failed beat is followed by another after <see cref="RetryPause"/>.
    /// </summary>
    /// <remarks>
    /// A beat fails when the lease grain's silo has gone (or froze); its next activation may be up
    /// elsewhere within a second, and the leases held here run out a lease length after their last
    /// renewal, whatever the beat timer says. Beating again soon reaches the new activation before
    /// they do, rather than up to a renew interval later, which in a 2 s lease was too late: every
    /// survivor's partitions stopped with the lease grain's host.
    /// </remarks>
    public async Task BeatOrLogAsync()
    {
        if (!await OrLogAsync(BeatAsync, LogHeartbeatFailed) && !stopping.IsCancellationRequested)
        {
            _ = RetrySoonAsync();
        }
    }

    /// <summary>A renewal while running (see <see cref="RenewAsync"/>), failing and stopping as a heartbeat does.</summary>
    public Task RenewOrLogAsync() => OrLogAsync(RenewAsync, LogRenewFailed);

    /// <summary>
    /// One heartbeat, under the beat lock: stops expired leases, reports the leases held and
    /// released, and applies the answer. Throws when the lease grain does not answer within the
    /// heartbeat timeout (the releases stay queued for the next beat), or refuses this silo's
    /// topics before the agent has started.
    /// </summary>
    public async Task BeatAsync(CancellationToken cancellationToken)
    {
        await beat.WaitAsync(cancellationToken);
        try
        {
            // The leases this beat renews run from now, on this silo's monotonic clock.
            var sentAt = time.GetTimestamp();
            ownership.Expire();
            metadata.RefreshIfDue(sentAt);
            var released = revoker.TakeReleased();
            var held = ownership.HeldGrants();
            var heartbeat = new SiloHeartbeat
            {
                SiloId = registration.SiloId,
                Topics = metadata.Counts,
                Held = held,
                Released = released,
                Leaving = stopping.IsCancellationRequested,
                Agent = AgentReference,
                Weight = _readiness.Weight(sentAt, holdsPartitions: held.Count > 0),
                Instance = registration.Instance,
                Sequence = ++_sequence,
                Loads = [.. ownership.Renewable().Where(l => ownership.Holds(l.GrainKey)).Select(l => l.SampleLoad()).OfType<PartitionLoad>()],
                Capacity = settings.Capacity,
                LacksRoles = settings.LacksRoles ?? [],
                Zone = settings.Zone,
                LeaderZones = metadata.LeaderZones,
            };
            // The catalog keeps no state of its own: re-registering with every beat rebuilds it after
            // its silo dies. Beside the heartbeat, not before it: reaching a catalog grain whose silo
            // died can take as long as reaching the lease grain again, and must not hold up the
            // renewal of every lease.
            _ = RegisterWithCatalogAsync(cancellationToken);
            LeaseResponse response;
            try
            {
                // Bounded: a lease grain on a silo that died (or froze) does not answer until membership
                // says so, and every later beat would wait behind this one while the leases run out.
                response = await grains.GetGrain<ILeaseProtocolGrain>(registration.Group).HeartbeatAsync(heartbeat).WaitAsync(settings.HeartbeatTimeout, time, cancellationToken);
            }
            catch
            {
                revoker.Enqueue(released);
                _readiness.Missed();
                throw;
            }

            if (response.Rejected is not null)
            {
                _readiness.Missed();
                Reject(new GroupConfigurationConflictException($"Consumer group '{registration.Group}': {response.Rejected}"));
                return;
            }

            if (_rejected)
            {
                _rejected = false;
                LogAcceptedAgain(logger, registration.Group);
            }

            var answeredAt = time.GetTimestamp();
            Volatile.Write(ref _answeredAt, answeredAt);
            Volatile.Write(ref _leaseDurationTicks, response.LeaseDuration.Ticks);
            _readiness.Answered(sentAt, answeredAt, response.LeaseDuration);

            owners.Update(registration.Group, response.Owners);
            var expiresAt = sentAt + (long)(response.LeaseDuration.TotalSeconds * time.TimestampFrequency);
            ownership.Apply(response.Grants, expiresAt, metadata.Contains);
            foreach (var grant in response.Draining)
            {
                // Being given up, and still draining work already sent (a key grain's call): renewed, still stopped.
                if (ownership.HeldLease(PartitionGrainKey.Format(registration.Group, grant.Topic, grant.Partition)) is { } lease && lease.Epoch == grant.Epoch)
                {
                    lease.Renew(expiresAt);
                }
            }

            if (!_readiness.Joined && _readiness.Weight(answeredAt, holdsPartitions: ownership.HeldGrants().Count > 0) > 0)
            {
                // Ask for the share now rather than at the next tick.
                _ = BeatSoonAsync();
            }
        }
        finally
        {
            beat.Release();
        }
    }

    /// <summary>
    /// A heartbeat soon, off the caller's thread, that starts after this call: requests made
    /// before it starts share it (several partitions released together report in one beat). The
    /// task completes when the beat is done, failed or not.
    /// </summary>
    public Task BeatSoonAsync()
    {
        lock (_nextBeatLock)
        {
            if (stopping.IsCancellationRequested)
            {
                return Task.CompletedTask;
            }

            return _nextBeat ??= Task.Run(async () =>
            {
                try
                {
                    // Once the beat in progress (if any) is done, requests from now on need another beat.
                    await beat.WaitAsync(stopping);
                    beat.Release();
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

    /// <summary>
    /// Renews the leases this silo holds without a heartbeat, while one is slow to be answered.
    /// Renewals may overlap one another and the heartbeat: each answer only moves the deadlines of
    /// the leases it names later, whatever the order the answers arrive in, and a lease lost or
    /// stopped meanwhile stays so (<see cref="LocalLease.Renew"/>).
    /// </summary>
    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        // The lease length of the last heartbeat answer: an answer later than that renews nothing.
        var duration = TimeSpan.FromTicks(Volatile.Read(ref _leaseDurationTicks));
        var leases = ownership.Renewable();
        if (leases.Count == 0 || duration <= TimeSpan.Zero)
        {
            return;
        }

        var sentAt = time.GetTimestamp();
        var renewal = new LeaseRenewal { SiloId = registration.SiloId, Instance = registration.Instance, Held = [.. leases.Select(l => l.ToGrant())] };
        var response = await grains.GetGrain<ILeaseProtocolGrain>(registration.Group).RenewAsync(renewal).WaitAsync(duration, time, cancellationToken);
        var expiresAt = sentAt + (long)(response.LeaseDuration.TotalSeconds * time.TimestampFrequency);

        // The lease grain answers (readiness counts it), even if its heartbeat answers come late;
        // not when it renews nothing (it no longer counts this silo run as live).
        if (response.Grants.Count > 0)
        {
            Volatile.Write(ref _answeredAt, time.GetTimestamp());
        }

        var renewed = response.Grants.Select(g => (g.Topic, g.Partition, g.Epoch)).ToHashSet();
        foreach (var lease in leases.Where(l => renewed.Contains((l.Partition.Topic, l.Partition.Partition.Value, l.Epoch))))
        {
            lease.Renew(expiresAt);
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
            LogRejected(logger, conflict.Message);
        }

        ownership.RevokeAll();
    }

    private async Task RegisterWithCatalogAsync(CancellationToken cancellationToken)
    {
        try
        {
            await grains.GetGrain<ICatalogProtocolGrain>(0).RegisterAsync(registration).WaitAsync(settings.HeartbeatTimeout, time, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The next beat registers again.
            LogCatalogFailed(logger, ex, registration.Group);
        }
    }

    private async Task RetrySoonAsync()
    {
        try
        {
            await Task.Delay(RetryPause, time, stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await BeatSoonAsync();
    }

    /// <returns>False when the call failed (not when it was cancelled by stopping).</returns>
    private async Task<bool> OrLogAsync(Func<CancellationToken, Task> call, Action<ILogger, Exception, string> logFailure)
    {
        try
        {
            await call(stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logFailure(logger, ex, registration.Group);
            return false;
        }

        return true;
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Lease heartbeat of consumer group {Group} failed; leases are kept until they expire")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Lease renewal of consumer group {Group} failed (a heartbeat is slow to be answered); leases are kept until they expire")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Registering consumer group {Group} with the catalog grain failed; the next heartbeat registers again")]
    private static partial void LogCatalogFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "{Conflict} This silo gives up its partitions of the group and is taken back once the silos it disagrees with are gone.")]
    private static partial void LogRejected(ILogger logger, string conflict);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Consumer group {Group}: the lease grain accepts this silo's topics again")]
    private static partial void LogAcceptedAgain(ILogger logger, string group);
}
