using OrleansKafka.LeaseProtocol;

namespace OrleansKafka.Partitions;

/// <summary>The partition grain's operator commands: decisions on holds, pause and resume, seek, move, history.</summary>
internal sealed partial class PartitionGrain
{
    public Task ResolveHoldAsync(HoldDecision decision)
    {
        if (!_leases.TryGet(_key, out var lease) || !lease.IsCurrent)
        {
            // Also when a record is held here: a decision taken by an activation whose lease has
            // ended would be lost with it, and the next owner would hold again.
            LeaveIfStale();
            throw NotProcessedHere();
        }

        _gate.Decide(decision, _silo);
        _holds.Decided(_key);
        return Task.CompletedTask;
    }

    public Task ResolveKeyHoldAsync(long offset, HoldDecision decision)
    {
        if (_binding is not { KeyOrdered: true })
        {
            throw new InvalidOperationException($"Partition {_key} holds no keys: its processor does not run records in key order; nothing was changed.");
        }

        if (!_leases.TryGet(_key, out var lease) || !lease.IsCurrent)
        {
            LeaveIfStale();
            throw NotProcessedHere();
        }

        // Carried out by the next delivery, which the feed sends without records if none come.
        _keyHolds.Decide(offset, decision);
        _holds.Decided(_key);
        return Task.CompletedTask;
    }

    public async Task PauseAsync()
    {
        EnsureProcessed();
        await _controlStore.PauseAsync();
    }

    public async Task ResumeAsync()
    {
        EnsureProcessed();
        await _controlStore.ResumeAsync();

        // Also when it was not paused: a feed left waiting (a failed seek, an earlier failure) goes on.
        _holds.Decided(_key);
    }

    public async Task<long> SeekAsync(long offset)
    {
        EnsureProcessed();
        if (!_leases.TryGet(_key, out var lease) || !lease.IsCurrent || !_holders.Holds(_key) || _commits.Control(_group) is not { } control)
        {
            LeaveIfStale();
            throw NotProcessedHere();
        }

        var target = await _seek.SeekAsync(control, lease, offset, _binding!.Registration.IsStateful, _delivering);

        // False only when a revoke started after the commit: its release carries the new offset.
        _holders.Restart(lease, OwnershipReason.Operator);
        return target;
    }

    public async Task MoveAsync(string silo)
    {
        EnsureProcessed();
        await GrainFactory.GetGrain<ILeaseProtocolGrain>(_group).MoveAsync(_topic, _partition, silo);
    }

    public async Task<IReadOnlyList<OwnershipRecord>> GetHistoryAsync()
    {
        EnsureProcessed();
        if (_leases.TryGet(_key, out var lease) && lease.IsCurrent)
        {
            await _controlStore.RecordOwnerAsync(lease);
        }

        return _controlStore.History;
    }

    private InvalidOperationException NotProcessedHere() =>
        new($"Partition {_key} is not being processed on silo {_silo} right now (it is moving); nothing was changed. Try again in a few seconds.");

    /// <summary>Operator commands name a partition this cluster processes; anything else changes nothing.</summary>
    private void EnsureProcessed()
    {
        if (_binding is null)
        {
            throw new InvalidOperationException($"No processor of this cluster reads topic '{_topic}' in consumer group '{_group}' (partition {_key}); expected a group and topic of Kafka:Processors.");
        }

        if (!_leases.TryGet(_key, out _) && _owners.OwnerOf(_key) is null)
        {
            throw new InvalidOperationException($"Partition {_key} has no owner: topic '{_topic}' has no partition {_partition}, or the partition is between owners (try again in a few seconds).");
        }
    }

    /// <summary>
    /// For an operator's command that needs the lease, arriving at an activation on a silo without
    /// it: moves the activation to the owner, or deactivates it when the owner is not known here,
    /// so that the next try reaches the owner rather than this activation again.
    /// </summary>
    private void LeaveIfStale()
    {
        if (!_leases.TryGet(_key, out _) && !MoveToOwner())
        {
            DeactivateOnIdle();
        }
    }
}
