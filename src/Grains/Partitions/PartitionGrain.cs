using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Placement;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using OrleansKafka.Processing.State;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Partitions;

/// <summary>
/// Owns one partition of one consumer group while its silo holds the partition's lease: checks
/// each delivery against the lease, hands its records to the partition's run (offset order or
/// key order), and answers status queries and operator commands, each of its parts its own type.
/// </summary>
[GrainType("orleanskafka.partition")]
[PartitionOwnerPlacement]
internal sealed partial class PartitionGrain(
    LeaseTable leases, OwnerDirectory owners, PartitionActivations activations, CommitFlusher commits, DeadLetterWriter deadLetters, HoldSignals holds, ProcessorCatalog catalog, ProcessingMetrics metrics, ILeaseHolders holders, TimeProvider time, ILocalSiloDetails silo, ILogger<PartitionGrain> logger,
    [PersistentState("control", KafkaProcessingOptions.StorageName)] IPersistentState<PartitionControl> controlState,
    [PersistentState("processor", KafkaProcessingOptions.StorageName)] IPersistentState<ProcessorCheckpoint> processorState) : Grain, IPartitionDeliveryGrain
{
    private readonly LeaseTable _leases = leases;
    private readonly OwnerDirectory _owners = owners;
    private readonly CommitFlusher _commits = commits;
    private readonly HoldSignals _holds = holds;
    private readonly ILeaseHolders _holders = holders;
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;
    private readonly string _silo = SiloIdentity.Of(silo.SiloAddress);
    private readonly SiloAddress _localSilo = silo.SiloAddress;
    private readonly PartitionProgress _progress = new(time);
    private Task _delivering = Task.CompletedTask;
    private string _key = string.Empty;
    private string _group = string.Empty;
    private string _topic = string.Empty;
    private int _partition;
    private ProcessorBinding? _binding;
    private PartitionControlStore _controlStore = null!;
    private PartitionGate _gate = null!;
    private HeldKeys _heldKeys = null!;
    private KeyHoldCommand _keyHolds = null!;
    private PartitionCheckpoint _checkpoint = null!;
    private SeekCommand _seek = null!;
    private OffsetResetCommand _reset = null!;
    private IPartitionRun? _run;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = this.GetPrimaryKeyString();
        (_group, _topic, _partition) = PartitionGrainKey.Parse(_key);
        _binding = catalog.Find(_group, _topic);
        _controlStore = new PartitionControlStore(_key, _silo, controlState, _time, _logger);
        _gate = new PartitionGate(_key, () => _controlStore.PausedSince is not null, _time, _logger);
        _checkpoint = new PartitionCheckpoint(_key, processorState, _commits, _holders, _gate, _logger);
        _heldKeys = new HeldKeys(_binding?.Options.MaxWaitingRecords ?? ProcessorOptions.DefaultMaxWaitingRecords);
        _seek = new SeekCommand(_key, _silo, _gate, _heldKeys, _checkpoint, _progress, _controlStore, _holds, _time, _logger);
        _reset = new OffsetResetCommand(_key, _gate, _seek, _checkpoint, _holders, _logger);
        if (_controlStore.Hold is { } hold)
        {
            // An earlier activation held at this record; it holds until an operator decides.
            _gate.Restore(hold.ToHeld());
        }

        // Likewise the keys it held: their records wait again as they are fetched.
        _heldKeys.Restore(_controlStore.KeyHolds, _controlStore.ResolvedOffsets);
        _keyHolds = new KeyHoldCommand(_key, _silo, _heldKeys, _time);

        activations.Add(_key);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        activations.Remove(_key);
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

    public async Task<DeliveryOutcome> DeliverAsync(Immutable<PartitionDelivery> delivery)
    {
        // Deliveries run one at a time; an operator's seek waits for the one running.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _delivering = done.Task;
        try
        {
            return await DeliverOneAsync(delivery.Value);
        }
        finally
        {
            done.SetResult();
        }
    }

    public async Task<DeliveryOutcome> OffsetResetAsync(OffsetOutOfRange reset, long epoch, SiloAddress? from)
    {
        if (Admit(epoch, from, out var lease) is { } refused)
        {
            return refused;
        }

        // The run's pipeline holds a stateful processor's state, whose stored offset comes first.
        _run ??= CreateRun(_binding!);
        return await _reset.ApplyAsync(reset, _binding!.Options.OnOffsetReset, _commits.Control(_group), lease, _binding.Registration.IsStateful);
    }

    private async Task<DeliveryOutcome> DeliverOneAsync(PartitionDelivery batch)
    {
        _progress.Sample();
        if (Admit(batch.Epoch, batch.From, out var lease) is { } refused)
        {
            return refused;
        }

        if (_gate.IsStopped)
        {
            // Paused by an operator (or a seek is stopping it): the feed waits and sends these records again.
            return DeliveryOutcome.Held;
        }

        var run = _run ??= CreateRun(_binding!);
        var records = batch.Records;
        if (records.Count == 0)
        {
            // Sent for an operator's decision about a held key while no record comes.
            return run is KeyOrderRun ? await run.RunAsync(records, 0, lease) : DeliveryOutcome.Completed;
        }

        if (_checkpoint.MustLoad(lease) && !await _checkpoint.LoadAsync(RecordOffsets.OffsetAt(records, 0), lease))
        {
            // Restarted from the stored offset, or holding: the stored checkpoint is missing.
            return _gate.Blocked is null ? DeliveryOutcome.Stopped : DeliveryOutcome.Held;
        }

        var index = 0;
        while (index < records.Count && RecordOffsets.OffsetAt(records, index) < _checkpoint.NextOffset)
        {
            index++;
        }

        if (index == records.Count)
        {
            return DeliveryOutcome.Completed;
        }

        if (_heldKeys.Count > 0 && _heldKeys.ForgetBelow(_checkpoint.NextOffset) is { Count: > 0 } stale)
        {
            // Committed past (a seek, an offset reset, another tool): nothing of those keys waits any more.
            LogHeldKeysPassed(_logger, _key, stale.Count, _checkpoint.NextOffset);
            await _controlStore.SaveKeyHoldsAsync(_heldKeys);
        }

        if (_gate.Held is { } held && RecordOffsets.OffsetAt(records, index) > held.Offset)
        {
            // The held record is behind where processing stands (committed before it ran): nothing to hold at.
            _gate.Forget();
            await _controlStore.ClearHoldAsync();
        }

        if (_binding!.Options.Delivery == DeliveryGuarantee.AtMostOnce)
        {
            lease.StoreProcessed(RecordOffsets.OffsetAt(records, records.Count - 1) + 1);
            await CommitNowAsync(lease);
            if (!lease.IsCurrent)
            {
                return DeliveryOutcome.Stopped;
            }
        }

        var outcome = await run.RunAsync(records, index, lease);
        if (outcome == DeliveryOutcome.Held && _heldKeys.FullAt is not null && !_heldKeys.IsFull)
        {
            // It stopped because too many records waited, and a release made room: sent again at once.
            _holds.Decided(_key);
        }

        return outcome;
    }

    /// <summary>
    /// Whether a call of the fetch path of <paramref name="from"/> under lease <paramref name="epoch"/>
    /// may act here: null, with this silo's current lease, when it may (a new lease is begun);
    /// otherwise the answer to give.
    /// </summary>
    private DeliveryOutcome? Admit(long epoch, SiloAddress? from, out LocalLease lease)
    {
        var fromElsewhere = from is { } sender && !sender.Equals(_localSilo);
        if (!_leases.TryGet(_key, out lease!) || (fromElsewhere && (lease.Epoch != epoch || !lease.IsCurrent)))
        {
            // No current lease here for what another silo sends (this silo's lease is gone or about
            // to be; the sender holds the newer one): NotOwner, so the sender resends, and this
            // activation moves to the sender, since a plain deactivation would be re-created here
            // by callers that still have this silo's address cached.
            if (from is { } owner)
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

        if (_binding is null || lease.Epoch != epoch || !lease.IsCurrent)
        {
            return DeliveryOutcome.Stopped;
        }

        if (_checkpoint.BeginLease(lease))
        {
            // A new lease starts where the fetcher started, whatever this activation did before.
            _gate.Reset();
            _run?.Reset();
            if (lease.RecordsWaitInMemory)
            {
                // An earlier activation under this lease kept records waiting behind held keys
                // in its memory; the fetcher is past them. Fetched again from the committed offset.
                LogRestartForHeldKeys(_logger, _key, lease.Epoch);
                _holders.Restart(lease, OwnershipReason.Start);
                return DeliveryOutcome.Stopped;
            }
        }

        // Not awaited: the first records of a new owner do not wait for storage (writes are serialized).
        _ = _controlStore.RecordOwnerAsync(lease);
        return null;
    }

    /// <summary>The processor's pipeline for this activation, and the run its order calls for.</summary>
    private IPartitionRun CreateRun(ProcessorBinding binding)
    {
        var pipeline = catalog.CreatePipeline(binding);
        _checkpoint.State = pipeline.State;
        var options = binding.Options;
        var runner = new RecordRunner(_key, _group, options, pipeline, deadLetters, _gate, _progress, _controlStore, metrics.For(_group, _topic, _partition), _time, _logger);
        return binding.KeyOrdered
            ? new KeyOrderRun(_key, pipeline, options.MaxInFlight, _gate, runner, _checkpoint, _progress, options.Delivery, binding.Registration.SendsToGrains, _heldKeys, () => _holds.Decided(_key), ReadCommittedAsync, _logger)
            : new OffsetOrderRun(pipeline, options.Delivery, _gate, runner, _checkpoint, _progress, CommitNowAsync);
    }

    private Task CommitNowAsync(LocalLease lease) => _commits.FlushAsync(lease.Group);

    /// <summary>The partition's committed offset and note, for a key-ordered run's new lease; null when Kafka does not answer in 5 s (records are then run again: at-least-once).</summary>
    private async Task<(long Offset, CommitNote? Note)?> ReadCommittedAsync(LocalLease lease)
    {
        try
        {
            return _commits.Control(_group) is { } control ? await control.CommittedWithNoteAsync(lease.Partition, TimeSpan.FromSeconds(5)) : null;
        }
        catch (Confluent.Kafka.KafkaException ex)
        {
            LogCommittedUnread(_logger, ex, _key);
            return null;
        }
    }

    public Task<PartitionStatus> GetStatusAsync()
    {
        var held = _leases.TryGet(_key, out var lease) && lease.IsCurrent;
        if (held)
        {
            // Not awaited: a status query must not wait for storage. The write is serialized with the others.
            _ = _controlStore.RecordOwnerAsync(lease!);
        }
        else
        {
            // A stale activation (its partition moved, or a call placed it before the owner was
            // known) answers this query as NotOwner, then goes to the owner for the next one.
            MoveToOwner();
        }

        return Task.FromResult(PartitionStatusReport.Build(
            _key, _silo, held ? lease : null, _gate, _heldKeys, _progress, _controlStore.PausedSince,
            _binding?.Registration.IsStateful == true ? _checkpoint.StateJson : null));
    }

    /// <summary>
    /// When this silo holds no lease on the partition and another silo is known to own it, moves
    /// this activation there (the placement director picks the owner).
    /// </summary>
    private bool MoveToOwner()
    {
        if (_leases.TryGet(_key, out _) || _owners.OwnerOf(_key) is not { } owner || owner == _silo)
        {
            return false;
        }

        // A placement hint the caller sent (it placed this activation) would otherwise decide
        // where the migration goes; without one the placement director picks the owner.
        RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        this.MigrateOnIdle();
        return true;
    }

    [LoggerMessage(EventId = 1413, Level = LogLevel.Warning, Message = "Partition {GrainKey}: the committed offset's note could not be read; records its last owner completed past the commit may run again")]
    private static partial void LogCommittedUnread(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "Partition {GrainKey}: {Keys} held key(s) below offset {Offset} let go: the partition was committed past them")]
    private static partial void LogHeldKeysPassed(ILogger logger, string grainKey, int keys, long offset);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "Partition {GrainKey}: an earlier activation under lease epoch {Epoch} kept records waiting behind held keys; the partition restarts from its committed offset to fetch them again")]
    private static partial void LogRestartForHeldKeys(ILogger logger, string grainKey, long epoch);
}
