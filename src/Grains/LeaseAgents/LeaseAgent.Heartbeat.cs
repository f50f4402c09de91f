using Confluent.Kafka;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;

namespace OrleansKafka.LeaseAgents;

// The heartbeat: sending it (on the timer, on a wake-up, or soon after a release) and applying
// the lease grain's answer. Kept apart from acquiring and revoking, which the answer starts but
// which run off the heartbeat so that renewals are never held up by them.
internal sealed partial class LeaseAgent
{
    /// <summary>A heartbeat while running: a failure is logged (leases are kept until they expire), stopping ends it quietly.</summary>
    private Task BeatOrLogAsync() => OrLogAsync(BeatAsync, LogHeartbeatFailed);

    /// <summary>A renewal while running (see <see cref="RenewAsync"/>), failing and stopping as a heartbeat does.</summary>
    private Task RenewOrLogAsync() => OrLogAsync(RenewAsync, LogRenewFailed);

    private async Task OrLogAsync(Func<CancellationToken, Task> call, Action<Microsoft.Extensions.Logging.ILogger, Exception, string> logFailure)
    {
        try
        {
            await call(_stop.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logFailure(_logger, ex, _group);
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
        List<LocalLease> leases = [.. _held.Values.Select(f => f.Lease).Concat(_acquiring.Values).Where(l => l.CanCommit)];
        if (leases.Count == 0 || duration <= TimeSpan.Zero)
        {
            return;
        }

        // As for a heartbeat, the renewed leases run from now, on this silo's monotonic clock.
        var sentAt = _time.GetTimestamp();
        var renewal = new LeaseRenewal { SiloId = _registration.SiloId, Instance = _registration.Instance, Held = [.. leases.Select(l => l.ToGrant())] };
        var response = await _grains.GetGrain<ILeaseProtocolGrain>(_group).RenewAsync(renewal).WaitAsync(duration, _time, cancellationToken);
        var expiresAt = sentAt + (long)(response.LeaseDuration.TotalSeconds * _time.TimestampFrequency);

        // The lease grain answers (readiness counts it), even if its heartbeat answers come late;
        // not when it renews nothing (it no longer counts this silo run as live).
        if (response.Grants.Count > 0)
        {
            Volatile.Write(ref _answeredAt, _time.GetTimestamp());
        }
        var renewed = response.Grants.Select(g => (g.Topic, g.Partition, g.Epoch)).ToHashSet();
        foreach (var lease in leases)
        {
            if (renewed.Contains((lease.Partition.Topic, lease.Partition.Partition.Value, lease.Epoch)))
            {
                lease.Renew(expiresAt);
            }
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
                Instance = _registration.Instance,
                Sequence = ++_sequence,
            };
            LeaseResponse response;
            try
            {
                // The catalog keeps no state of its own: re-registering with every beat rebuilds it after its silo dies.
                await _grains.GetGrain<ICatalogProtocolGrain>(0).RegisterAsync(_registration).WaitAsync(_settings.HeartbeatTimeout, _time, cancellationToken);
                // Bounded: a lease grain on a silo that died (or froze) does not answer until membership
                // says so, and every later beat would wait behind this one while the leases run out.
                response = await _grains.GetGrain<ILeaseProtocolGrain>(_group).HeartbeatAsync(heartbeat).WaitAsync(_settings.HeartbeatTimeout, _time, cancellationToken);
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

            Volatile.Write(ref _answeredAt, _time.GetTimestamp());
            Volatile.Write(ref _leaseDurationTicks, response.LeaseDuration.Ticks);
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
                // Renewed also while this silo gives the lease up on its own (an operator's seek,
                // its feed ended): the grain renews it until the release is reported, so a drain
                // slowed by a busy silo can still commit, as long as answers keep coming.
                if (!current.Renew(expiresAt) && !current.IsLost && current.IsExpired)
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
            else if (!_revoking.ContainsKey(key))
            {
                var lease = new LocalLease(_group, new TopicPartition(grant.Topic, grant.Partition), grant.Epoch, expiresAt, _time) { Reason = grant.Reason };
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
            // A partition handed over with its committed offset starts at once, within this beat.
            foreach (var lease in fresh.Where(l => l.CommittedOffset >= 0))
            {
                StartFeed(lease);
            }

            // The others off the heartbeat: reading committed offsets may wait on a slow group
            // coordinator for as long as a lease, and the other leases must be renewed meanwhile.
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
    }
}
