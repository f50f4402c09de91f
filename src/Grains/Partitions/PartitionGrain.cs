using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Placement;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using OrleansKafka.Processing.State;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Partitions;

/// <summary>
/// Owns one partition of one consumer group: runs the processor over each delivery in offset
/// order and reports processed offsets for commit, only while its silo holds a current lease.
/// </summary>
[GrainType("orleanskafka.partition")]
[PartitionOwnerPlacement]
internal sealed partial class PartitionGrain : Grain, IPartitionDeliveryGrain
{
    private readonly LeaseTable _leases;
    private readonly OwnerDirectory _owners;
    private readonly PartitionActivations _activations;
    private readonly CommitFlusher _commits;
    private readonly DeadLetterWriter _deadLetters;
    private readonly HoldSignals _holds;
    private readonly ProcessorCatalog _catalog;
    private readonly ProcessingMetrics _metrics;
    private readonly IPersistentState<PartitionControl> _control;
    private readonly IPersistentState<ProcessorCheckpoint> _checkpoint;
    private long _stateEpoch;
    private readonly SemaphoreSlim _controlWrites = new(1, 1);
    private readonly Queue<(long At, long Processed)> _rateSamples = new();
    private Task _delivering = Task.CompletedTask;
    private bool _seeking;
    private readonly ILeaseHolders _holders;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _silo;
    private readonly SiloAddress _localSilo;
    private string _group = string.Empty;
    private string _topic = string.Empty;
    private int _partition;
    private ProcessorBinding? _binding;
    private ProcessorPipeline? _pipeline;
    private RetryingRunner? _runner;
    private PartitionTelemetry? _telemetry;
    private HeldRecord? _held;
    private HoldDecision? _decision;
    private long _skipped;
    private long _deadLettered;
    private long _nextOffset = -1;
    private long _nextOffsetEpoch;
    private long _processed;
    private long _inFlightOffset = -1;
    private DateTimeOffset? _inFlightSince;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private int _retryAttempt;

    public PartitionGrain(LeaseTable leases, OwnerDirectory owners, PartitionActivations activations, CommitFlusher commits, DeadLetterWriter deadLetters, HoldSignals holds, ProcessorCatalog catalog, ProcessingMetrics metrics, ILeaseHolders holders, TimeProvider time, ILocalSiloDetails silo, ILogger<PartitionGrain> logger,
        [PersistentState("control", KafkaProcessingOptions.StorageName)] IPersistentState<PartitionControl> control,
        [PersistentState("processor", KafkaProcessingOptions.StorageName)] IPersistentState<ProcessorCheckpoint> checkpoint)
    {
        _checkpoint = checkpoint;
        _metrics = metrics;
        _control = control;
        _deadLetters = deadLetters;
        _holds = holds;
        _leases = leases;
        _owners = owners;
        _activations = activations;
        _commits = commits;
        _catalog = catalog;
        _holders = holders;
        _time = time;
        _logger = logger;
        _silo = SiloIdentity.Of(silo.SiloAddress);
        _localSilo = silo.SiloAddress;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_group, _topic, _partition) = PartitionGrainKey.Parse(this.GetPrimaryKeyString());
        _binding = _catalog.Find(_group, _topic);
        _telemetry = _metrics.For(_group, _topic, _partition);
        _activations.Add(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _activations.Remove(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task ReleaseAsync()
    {
        if (!MoveToOwner())
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// For an operator's command that needs the lease, arriving at an activation on a silo without
    /// it: moves the activation to the owner, or deactivates it when the owner is not known here,
    /// so that the next try reaches the owner. Without that, the activation of a partition that
    /// moved while idle stayed where it was (only a delivery from the owner moved it), and a
    /// command sent to it failed on every try.
    /// </summary>
    private void LeaveIfStale()
    {
        if (!_leases.TryGet(this.GetPrimaryKeyString(), out _) && !MoveToOwner())
        {
            DeactivateOnIdle();
        }
    }

    /// <summary>
    /// When this silo holds no lease on the partition and another silo is known to own it, moves
    /// this activation there (the placement director picks the owner).
    /// </summary>
    private bool MoveToOwner()
    {
        var key = this.GetPrimaryKeyString();
        if (_leases.TryGet(key, out _) || _owners.OwnerOf(key) is not { } owner || owner == _silo)
        {
            return false;
        }

        // A placement hint the caller sent (it placed this activation) would otherwise decide
        // where the migration goes; without one the placement director picks the owner.
        RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        this.MigrateOnIdle();
        return true;
    }

    public async Task<DeliveryOutcome> DeliverAsync(Immutable<PartitionDelivery> delivery)
    {
        // Deliveries run one at a time; an operator's seek waits for the one running.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _delivering = done.Task;
        try
        {
            return await DeliverOneAsync(delivery);
        }
        finally
        {
            done.SetResult();
        }
    }

    private async Task<DeliveryOutcome> DeliverOneAsync(Immutable<PartitionDelivery> delivery)
    {
        SampleRate();
        var batch = delivery.Value;
        var fromElsewhere = batch.From is { } sender && !sender.Equals(_localSilo);
        if (!_leases.TryGet(this.GetPrimaryKeyString(), out var lease) || (fromElsewhere && (lease.Epoch != batch.Epoch || !lease.IsCurrent)))
        {
            // No current lease here for what another silo sends: this silo's own lease is gone or
            // about to be (it stalled, and its agent has not caught up yet), and the sender holds
            // the newer one. Answered as NotOwner, so the sender resends instead of stopping.
            // This silo does not own the partition: it moved, and this activation stayed. Move it
            // to the sender (the lease holder); a plain deactivation would be re-created here by
            // callers that still have this silo's address cached.
            if (batch.From is { } owner)
            {
                RequestContext.Set(IPlacementDirector.PlacementHintKey, owner);
                this.MigrateOnIdle();
            }
            else
            {
                DeactivateOnIdle();
            }

            return DeliveryOutcome.NotOwner;
        }

        if (_binding is null || lease.Epoch != batch.Epoch || !lease.IsCurrent)
        {
            return DeliveryOutcome.Stopped;
        }

        if (_nextOffsetEpoch != lease.Epoch)
        {
            // A new lease starts where the fetcher started, whatever this activation did before;
            // a record held under the old lease fails again and holds again.
            _nextOffset = -1;
            _nextOffsetEpoch = lease.Epoch;
            _held = null;
            _decision = null;
            _seeking = false;
            _completedAhead.Clear();
        }

        // Not awaited: the first records of a new owner do not wait for storage (writes are serialized).
        _ = RecordOwnerAsync(lease);

        if (_control.State.PausedSince is not null || _seeking)
        {
            // Paused by an operator (or a seek is stopping it): the feed waits and sends these records again.
            return DeliveryOutcome.Held;
        }

        _pipeline ??= _catalog.CreatePipeline(_binding);
        _runner ??= new RetryingRunner(_pipeline, _binding.Options, _time, (ex, attempt) => OnFailure(ex, _inFlightOffset, attempt), _telemetry);
        var records = batch.Records;
        if (_pipeline.State is { } state && _stateEpoch != lease.Epoch && !await LoadStateAsync(state, RecordOffsets.OffsetAt(records, 0), lease))
        {
            return DeliveryOutcome.Stopped;
        }

        var index = 0;
        while (index < records.Count && RecordOffsets.OffsetAt(records, index) < _nextOffset)
        {
            index++;
        }

        if (index == records.Count)
        {
            return DeliveryOutcome.Completed;
        }

        if (_binding.Options.Delivery == DeliveryGuarantee.AtMostOnce)
        {
            lease.StoreProcessed(RecordOffsets.OffsetAt(records, records.Count - 1) + 1);
            await CommitNowAsync(lease);
            if (!lease.IsCurrent)
            {
                return DeliveryOutcome.Stopped;
            }
        }

        var atLeastOnce = _binding.Options.Delivery == DeliveryGuarantee.AtLeastOnce;
        if (_binding.KeyOrdered)
        {
            return await DeliverByKeyAsync(records, index, lease, atLeastOnce);
        }

        try
        {
            // Units before this index run one record at a time: a batch that failed, narrowed down to its failing record.
            var narrowUntil = -1;
            while (index < records.Count)
            {
                // Checked against the clock before each record, not only through the token: a silo
                // that resumes from a freeze past its deadline must not start another record before
                // the token's timer has had its turn.
                if (!lease.IsCurrent)
                {
                    return DeliveryOutcome.Stopped;
                }

                if (_control.State.PausedSince is not null || _seeking)
                {
                    // Paused (or seeking) while this delivery ran: what ran is committed below, the rest waits.
                    return DeliveryOutcome.Held;
                }

                var offset = RecordOffsets.OffsetAt(records, index);
                int count;
                RecordFailure? failure;
                FailureAction? decided = null;
                if (_held is { } held && held.Offset == offset)
                {
                    if (_decision is not { } decision)
                    {
                        return DeliveryOutcome.Held;
                    }

                    (_held, _decision, count) = (null, null, 1);
                    LogHoldResolved(_logger, this.GetPrimaryKeyString(), offset, decision);
                    failure = decision == HoldDecision.Retry ? await RunAsync(records, index, 1, lease) : held.Failure;
                    decided = ActionOf(decision);
                }
                else
                {
                    count = index < narrowUntil ? 1 : _pipeline.UnitLength(records.Count - index);
                    failure = await RunAsync(records, index, count, lease);
                }

                if (failure is not null && count > 1)
                {
                    // Which record of the batch failed is unknown: run them one by one. Those before
                    // it are processed again (at-least-once), and the failure action applies to it alone.
                    narrowUntil = index + count;
                    continue;
                }

                if (failure is not null && !await GiveUpAsync(records[index], failure, decided ?? _binding.Options.OnFailure, lease))
                {
                    // Everything before the held record is committed; nothing from it on.
                    HoldAt(records[index], failure);
                    return DeliveryOutcome.Held;
                }

                index += count;
                _processed += count;
                _nextOffset = RecordOffsets.OffsetAt(records, index - 1) + 1;
                if (decided is not null && atLeastOnce)
                {
                    // An operator's skip or dead-letter is committed before anything else happens,
                    // so the record is not held again after a move to another silo.
                    if (!await StorePositionAsync(lease))
                    {
                        return DeliveryOutcome.Stopped;
                    }

                    await CommitNowAsync(lease);
                }
            }
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
        {
            return DeliveryOutcome.Stopped;
        }
        finally
        {
            _inFlightOffset = -1;
            _inFlightSince = null;
            _retryAttempt = 0;
            // Whatever completed is committed, also when a revoke or shutdown cut the delivery short.
            if (atLeastOnce && _nextOffset >= 0)
            {
                await StorePositionAsync(lease);
            }
        }

        return DeliveryOutcome.Completed;
    }

    public Task ResolveHoldAsync(HoldDecision decision)
    {
        var key = this.GetPrimaryKeyString();
        if (!_leases.TryGet(key, out var lease) || !lease.IsCurrent)
        {
            // Also when a record is held here: a decision taken by an activation whose lease has
            // ended would be lost with it, and the next owner would hold again.
            LeaveIfStale();
            throw new InvalidOperationException($"Partition {key} is not being processed on silo {_silo} right now (it is moving); nothing was changed. Try again in a few seconds.");
        }

        if (_held is null || !Enum.IsDefined(decision))
        {
            throw new InvalidOperationException(_held is null
                ? $"Partition {key} is not holding a record on silo {_silo}; nothing to {decision}. Only a partition in state Holding takes retry, skip or dead-letter."
                : $"'{decision}' is not a decision; expected Retry, Skip or DeadLetter.");
        }

        _decision = decision;
        _holds.Decided(key);
        return Task.CompletedTask;
    }

    public async Task PauseAsync()
    {
        EnsureProcessed();
        if (_control.State.PausedSince is not null)
        {
            return;
        }

        _control.State.PausedSince = _time.GetUtcNow();
        try
        {
            await WriteControlAsync();
        }
        catch
        {
            // Not stored, so not paused: the operator sees the error and nothing changed.
            _control.State.PausedSince = null;
            throw;
        }

        LogPaused(_logger, this.GetPrimaryKeyString(), _silo);
    }

    public async Task ResumeAsync()
    {
        EnsureProcessed();
        var key = this.GetPrimaryKeyString();
        if (_control.State.PausedSince is { } pausedSince)
        {
            _control.State.PausedSince = null;
            try
            {
                await WriteControlAsync();
            }
            catch
            {
                // Not stored, so still paused: a resume stored later must find it so.
                _control.State.PausedSince = pausedSince;
                throw;
            }

            LogResumed(_logger, key, _silo);
        }

        // Also when it was not paused: a feed left waiting (a failed seek, an earlier failure) goes on.
        _holds.Decided(key);
    }

    public async Task<long> SeekAsync(long offset)
    {
        EnsureProcessed();
        var key = this.GetPrimaryKeyString();
        if (!_leases.TryGet(key, out var lease) || !lease.IsCurrent || !_holders.Holds(key) || _commits.Control(_group) is not { } control)
        {
            LeaveIfStale();
            throw new InvalidOperationException($"Partition {key} is not being processed on silo {_silo} right now (it is moving); nothing was changed. Try again in a few seconds.");
        }

        WatermarkOffsets marks;
        try
        {
            marks = await control.WatermarksAsync(lease.Partition, TimeSpan.FromSeconds(5));
        }
        catch (KafkaException ex)
        {
            // Kafka's exception types do not cross a grain call: the operator gets the reason as text.
            throw new InvalidOperationException($"Partition {key}: Kafka did not tell its offsets within 5 s ({ex.Error.Code}: {ex.Error.Reason}); nothing was changed. Try again.");
        }

        var target = offset switch
        {
            PartitionSeek.Beginning => marks.Low.Value,
            PartitionSeek.End => marks.High.Value,
            _ => offset,
        };
        if (target < marks.Low.Value || target > marks.High.Value)
        {
            throw new InvalidOperationException($"Offset {offset} is outside partition {key}: Kafka holds offsets {marks.Low.Value} to {marks.High.Value - 1} and the next record gets {marks.High.Value}; expected an offset from {marks.Low.Value} to {marks.High.Value}, beginning or end. Nothing was changed.");
        }

        _seeking = true;
        try
        {
            try
            {
                // Well within a grain call's 30 s: the caller learns the outcome.
                await _delivering.WaitAsync(TimeSpan.FromSeconds(15), _time);
            }
            catch (TimeoutException)
            {
                throw new InvalidOperationException($"Partition {key}: the record in flight at offset {_inFlightOffset} did not finish within 15 s; nothing was changed.");
            }

            if (_binding!.Registration.IsStateful)
            {
                await SeekStoredStateAsync(control, lease, target);
            }
            else
            {
                await control.SeekAsync(lease, target);
            }
        }
        catch
        {
            // Nothing was committed: the deliveries held back by the seek go on.
            _seeking = false;
            _holds.Decided(key);
            throw;
        }

        LogSeek(_logger, key, target, _silo);

        // False only when a revoke started after the commit: its release carries the new offset.
        _holders.Restart(lease, OwnershipReason.Operator);
        return target;
    }

    /// <summary>
    /// A seek for a processor with exactly-once state: the stored offset is where the next lease
    /// starts, so it moves first, with the state unchanged (a seek back replays records into the
    /// state). Once it is stored the seek has happened: Kafka's offset follows, and if that commit
    /// fails the next lease moves it (<see cref="LoadStateAsync"/>).
    /// </summary>
    private async Task SeekStoredStateAsync(GroupControlClient control, LocalLease lease, long target)
    {
        // Fresh from storage: this activation may not have loaded it under this lease.
        await _checkpoint.ReadStateAsync();
        var before = _checkpoint.State.NextOffset;
        _checkpoint.State.NextOffset = target;
        try
        {
            await _checkpoint.WriteStateAsync();
        }
        catch
        {
            _checkpoint.State.NextOffset = before;
            throw;
        }

        // Processing starts again from the stored state under the next lease.
        _stateEpoch = 0;
        try
        {
            await control.SeekAsync(lease, target);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSeekCommitFailed(_logger, ex, this.GetPrimaryKeyString(), target);
        }
    }

    public async Task MoveAsync(string silo)
    {
        EnsureProcessed();
        await GrainFactory.GetGrain<ILeaseProtocolGrain>(_group).MoveAsync(_topic, _partition, silo);
    }

    public async Task<IReadOnlyList<OwnershipRecord>> GetHistoryAsync()
    {
        EnsureProcessed();
        if (_leases.TryGet(this.GetPrimaryKeyString(), out var lease) && lease.IsCurrent)
        {
            await RecordOwnerAsync(lease);
        }

        return [.. _control.State.History];
    }

    /// <summary>Operator commands name a partition this cluster processes; anything else changes nothing.</summary>
    private void EnsureProcessed()
    {
        var key = this.GetPrimaryKeyString();
        if (_binding is null)
        {
            throw new InvalidOperationException($"No processor of this cluster reads topic '{_topic}' in consumer group '{_group}' (partition {key}); expected a group and topic of Kafka:Processors.");
        }

        if (!_leases.TryGet(key, out _) && _owners.OwnerOf(key) is null)
        {
            throw new InvalidOperationException($"Partition {key} has no owner: topic '{_topic}' has no partition {_partition}, or the partition is between owners (try again in a few seconds).");
        }
    }

    /// <summary>
    /// Adds this silo's lease to the ownership history, once per epoch: at the first delivery, or
    /// sooner when someone looks (a partition without records gets no delivery).
    /// </summary>
    private async Task RecordOwnerAsync(LocalLease lease)
    {
        var history = _control.State.History;
        if (history.Count > 0 && history[^1].Epoch >= lease.Epoch)
        {
            return;
        }

        history.Add(new OwnershipRecord { Silo = _silo, Epoch = lease.Epoch, Since = lease.GrantedAt, Reason = lease.Reason });
        if (history.Count > PartitionControl.MaxHistory)
        {
            history.RemoveRange(0, history.Count - PartitionControl.MaxHistory);
        }

        try
        {
            await WriteControlAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The history is for people; processing does not wait for a storage that fails.
            LogControlWriteFailed(_logger, ex, this.GetPrimaryKeyString());
        }
    }

    /// <summary>One write at a time: commands interleave with deliveries, and each write needs the ETag of the last.</summary>
    private async Task WriteControlAsync()
    {
        await _controlWrites.WaitAsync();
        try
        {
            await _control.WriteStateAsync();
        }
        finally
        {
            _controlWrites.Release();
        }
    }

    /// <summary>Notes the processed count at most once a second, keeping 10 s of notes: the basis of <see cref="RecordsPerSecond"/>.</summary>
    private void SampleRate()
    {
        var now = _time.GetTimestamp();
        if (_rateSamples.Count == 0 || _time.GetElapsedTime(_rateSamples.Last().At, now) >= TimeSpan.FromSeconds(1))
        {
            _rateSamples.Enqueue((now, _processed));
        }

        while (_rateSamples.Count > 1 && _time.GetElapsedTime(_rateSamples.Peek().At, now) > TimeSpan.FromSeconds(10))
        {
            _rateSamples.Dequeue();
        }
    }

    /// <summary>Records processed a second since the oldest note (at most about 10 s ago); 0 with less than half a second to go by.</summary>
    private double RecordsPerSecond()
    {
        SampleRate();
        var (at, processed) = _rateSamples.Peek();
        var seconds = _time.GetElapsedTime(at).TotalSeconds;
        return seconds < 0.5 ? 0 : (_processed - processed) / seconds;
    }

    public Task<PartitionStatus> GetStatusAsync()
    {
        var held = _leases.TryGet(this.GetPrimaryKeyString(), out var lease) && lease.IsCurrent;
        if (held)
        {
            // Not awaited: a status query must not wait for storage. The write is serialized with the others.
            _ = RecordOwnerAsync(lease!);
        }

        if (!held)
        {
            // A stale activation (its partition moved, or a call placed it before the owner was
            // known) answers this query as NotOwner, then goes to the owner for the next one.
            MoveToOwner();
        }

        var state = !held ? PartitionState.NotOwner
            : _held is not null ? PartitionState.Holding
            : _control.State.PausedSince is not null ? PartitionState.Paused
            : _retryAttempt > 0 ? PartitionState.Retrying
            : _inFlightOffset >= 0 ? PartitionState.Processing
            : PartitionState.Idle;
        var rate = RecordsPerSecond();
        return Task.FromResult(new PartitionStatus
        {
            Group = _group,
            Topic = _topic,
            Partition = _partition,
            Silo = _silo,
            State = state,
            LeaseEpoch = held ? lease!.Epoch : 0,
            CommittedOffset = held ? lease!.CommittedOffset : -1,
            HighWatermark = held ? lease!.HighWatermark : -1,
            RecordsProcessed = _processed,
            InFlightOffset = _inFlightOffset,
            InFlightSince = _inFlightSince,
            LastError = _lastError,
            LastErrorAt = _lastErrorAt,
            RetryAttempt = _retryAttempt,
            HeldOffset = _held?.Offset ?? -1,
            HeldSince = _held?.Since,
            HeldKey = _held?.Key,
            HeldValue = _held?.Value,
            RecordsSkipped = _skipped,
            RecordsDeadLettered = _deadLettered,
            RecordsPerSecond = rate,
            CatchUpEstimate = held && rate > 0 && lease!.HighWatermark > lease.CommittedOffset && lease.CommittedOffset >= 0
                ? TimeSpan.FromSeconds((lease.HighWatermark - lease.CommittedOffset) / rate)
                : null,
            PausedSince = _control.State.PausedSince,
            ProcessorStateJson = _binding?.Registration.IsStateful != true ? null
                : _pipeline?.State is { } processorState && _stateEpoch != 0 ? processorState.Save()
                : _checkpoint.State.State,
        });
    }

    private Task CommitNowAsync(LocalLease lease) => _commits.FlushAsync(lease.Group);

    /// <summary>
    /// Loads a stateful processor's stored state at the first delivery of a lease, and the offset
    /// stored with it becomes where processing starts. False when the fetch started past that
    /// offset: the partition is restarted from it (the delivery is not processed).
    /// </summary>
    /// <remarks>
    /// The state counts as loaded for this lease only once every step succeeded: a delivery sent
    /// again after a failed step loads again, rather than processing on top of the stored state
    /// from wherever the fetch started.
    /// </remarks>
    private async Task<bool> LoadStateAsync(ProcessorStateAccess state, long firstOffset, LocalLease lease)
    {
        // Read again at each lease: another silo may have stored since this activation last did.
        await _checkpoint.ReadStateAsync();
        state.Load(_checkpoint.State.State);
        var stored = _checkpoint.State.NextOffset;

        // Where the fetch started, not the first record: offsets can have gaps (a transaction's
        // commit marker, compaction), and the stored offset may fall on one.
        var fetchStart = lease.CommittedOffset >= 0 ? lease.CommittedOffset : firstOffset;
        if (stored >= 0 && fetchStart > stored && _commits.Control(_group) is { } control)
        {
            var low = (await control.WatermarksAsync(lease.Partition, TimeSpan.FromSeconds(5))).Low.Value;
            var resumeAt = Math.Max(stored, low);
            if (low > stored)
            {
                // The records after the stored offset up to the log's start are gone (retention).
                LogStateRecordsDeleted(_logger, this.GetPrimaryKeyString(), stored, low);
            }

            if (fetchStart > resumeAt)
            {
                // Kafka's committed offset is past the stored state (moved outside this product): go back.
                LogStateBehind(_logger, this.GetPrimaryKeyString(), resumeAt, fetchStart);
                await control.SeekAsync(lease, resumeAt);
                _holders.Restart(lease, OwnershipReason.Start);
                return false;
            }
        }

        _stateEpoch = lease.Epoch;
        if (stored < 0)
        {
            return true;
        }

        _nextOffset = stored;
        if (stored > lease.CommittedOffset)
        {
            // Kafka's committed offset catches up with the stored one, for tooling.
            lease.StoreProcessed(stored);
        }

        return true;
    }

    /// <summary>
    /// Marks everything before <see cref="_nextOffset"/> processed: for a stateful processor, first
    /// stores its state with that offset (ETag-guarded). False when the store failed (another owner
    /// stored since, or storage failed): nothing is committed, and the partition restarts from what
    /// is stored.
    /// </summary>
    private async Task<bool> StorePositionAsync(LocalLease lease)
    {
        if (_pipeline?.State is { } state)
        {
            if (_stateEpoch != lease.Epoch)
            {
                // Not loaded under this lease, or a store failed: what ran is not in the stored state, so nothing is committed.
                return false;
            }

            var checkpoint = _checkpoint.State;
            if (_nextOffset > checkpoint.NextOffset)
            {
                if (!lease.CanCommit)
                {
                    return false;
                }

                var (offset, json) = (checkpoint.NextOffset, checkpoint.State);
                (checkpoint.NextOffset, checkpoint.State) = (_nextOffset, state.Save());
                try
                {
                    await _checkpoint.WriteStateAsync();
                }
                catch (Exception ex)
                {
                    (checkpoint.NextOffset, checkpoint.State) = (offset, json);
                    _stateEpoch = 0;
                    LogCheckpointFailed(_logger, ex, this.GetPrimaryKeyString(), _nextOffset, lease.Epoch);
                    _holders.Restart(lease, OwnershipReason.Start);
                    return false;
                }
            }
        }

        lease.StoreProcessed(_nextOffset);
        return true;
    }

    /// <summary>Runs a unit with the processor's retries; the failure if it gave up. Throws when the lease's token fires.</summary>
    private async Task<RecordFailure?> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, LocalLease lease)
    {
        var offset = RecordOffsets.OffsetAt(records, index);
        _inFlightOffset = offset;
        _inFlightSince = _time.GetUtcNow();
        var failure = await _runner!.RunAsync(records, index, count, lease.Epoch, lease.Token);
        if (failure is not null)
        {
            // The unit's own offset: in key order other records run meanwhile and move _inFlightOffset.
            OnFailure(failure.Error, offset, failure.Attempts);
        }

        _retryAttempt = 0;
        return failure;
    }

    /// <summary>The failure action an operator's decision about a held record stands for; null for a retry.</summary>
    private static FailureAction? ActionOf(HoldDecision? decision) => decision switch
    {
        HoldDecision.Skip => FailureAction.Skip,
        HoldDecision.DeadLetter => FailureAction.DeadLetter,
        _ => null,
    };

    /// <summary>Makes the partition hold at <paramref name="record"/>: its status shows it, and nothing from it on is processed until an operator decides.</summary>
    private void HoldAt(ConsumeResult<byte[], byte[]> record, RecordFailure failure)
    {
        _telemetry?.Held();
        _held = new HeldRecord(record.Offset.Value, failure, _time.GetUtcNow(), RecordPreview.Of(record.Message.Key), RecordPreview.Of(record.Message.Value));
        LogHolding(_logger, failure.Error, this.GetPrimaryKeyString(), record.Offset.Value, failure.Attempts);
    }

    /// <summary>Applies a failure action to a record; false when the partition must hold at it instead.</summary>
    private async Task<bool> GiveUpAsync(ConsumeResult<byte[], byte[]> record, RecordFailure failure, FailureAction action, LocalLease lease)
    {
        var key = this.GetPrimaryKeyString();
        switch (action)
        {
            case FailureAction.Skip:
                _skipped++;
                _telemetry?.Skipped();
                LogSkipped(_logger, failure.Error, key, record.Offset.Value, failure.Attempts);
                return true;
            case FailureAction.DeadLetter:
                var topic = _binding!.Options.EffectiveDeadLetterTopic;
                try
                {
                    await _deadLetters.WriteAsync(topic, record, _group, failure.Error, failure.Attempts, lease.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !lease.Token.IsCancellationRequested)
                {
                    // Nothing may be lost: a record that cannot be dead-lettered holds the partition.
                    LogDeadLetterFailed(_logger, ex, key, record.Offset.Value, topic);
                    return false;
                }

                _deadLettered++;
                _telemetry?.DeadLettered();
                LogDeadLettered(_logger, failure.Error, key, record.Offset.Value, topic, failure.Attempts);
                return true;
            default:
                return false;
        }
    }

    private void OnFailure(Exception exception, long offset, int attempt)
    {
        _retryAttempt = attempt;
        _lastError = new RecordFailure(exception, attempt).Describe();
        _lastErrorAt = _time.GetUtcNow();
        LogProcessorFailed(_logger, exception, this.GetPrimaryKeyString(), offset, attempt);
    }

    /// <summary>The record a partition holds at, and why.</summary>
    private sealed record HeldRecord(long Offset, RecordFailure Failure, DateTimeOffset Since, string Key, string Value);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Processor failed on {GrainKey} at offset {Offset} (attempt {Attempt})")]
    private static partial void LogProcessorFailed(ILogger logger, Exception exception, string grainKey, long offset, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped the record at offset {Offset} of {GrainKey} after {Attempts} attempt(s)")]
    private static partial void LogSkipped(ILogger logger, Exception exception, string grainKey, long offset, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Wrote the record at offset {Offset} of {GrainKey} to dead-letter topic {Topic} after {Attempts} attempt(s)")]
    private static partial void LogDeadLettered(ILogger logger, Exception exception, string grainKey, long offset, string topic, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not write the record at offset {Offset} of {GrainKey} to dead-letter topic {Topic}; the partition holds at it")]
    private static partial void LogDeadLetterFailed(ILogger logger, Exception exception, string grainKey, long offset, string topic);

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition {GrainKey} holds at offset {Offset} after {Attempts} attempt(s), until an operator retries, skips or dead-letters the record")]
    private static partial void LogHolding(ILogger logger, Exception exception, string grainKey, long offset, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey} paused by an operator (on silo {Silo}); it processes nothing until resumed")]
    private static partial void LogPaused(ILogger logger, string grainKey, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey}: an operator's seek committed offset {Offset} (on silo {Silo}); it restarts there")]
    private static partial void LogSeek(ILogger logger, string grainKey, long offset, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey} resumed by an operator (on silo {Silo})")]
    private static partial void LogResumed(ILogger logger, string grainKey, string silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {GrainKey}: could not store the processor's state with offset {Offset} under lease epoch {Epoch} (another owner stored since, or storage failed); nothing is committed, and the partition starts again from the stored state")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, string grainKey, long offset, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {GrainKey}: Kafka's committed offset is past the processor's stored state (offset {Stored}, fetch started at {First}); restarting from the stored offset")]
    private static partial void LogStateBehind(ILogger logger, string grainKey, long stored, long first);

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition {GrainKey}: the processor's stored state ends at offset {Stored}, but Kafka keeps records from offset {Low} on; the records between were deleted unprocessed")]
    private static partial void LogStateRecordsDeleted(ILogger logger, string grainKey, long stored, long low);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {GrainKey}: the seek to offset {Offset} is stored with the processor's state, but Kafka's offset was not committed; the next lease moves it")]
    private static partial void LogSeekCommitFailed(ILogger logger, Exception exception, string grainKey, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {GrainKey}: a grain refused offset {Offset} as sent under lease epoch {Epoch} (lease still current here: {Current}); this silo stops delivering under that lease")]
    private static partial void LogSuperseded(ILogger logger, Exception exception, string grainKey, long offset, long epoch, bool current);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the ownership history of partition {GrainKey}; processing goes on")]
    private static partial void LogControlWriteFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey}: the operator decided {Decision} for the held record at offset {Offset}")]
    private static partial void LogHoldResolved(ILogger logger, string grainKey, long offset, HoldDecision decision);
}
