using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using OrleansKafka.Committing;
using OrleansKafka.Leasing.Protocol;
using OrleansKafka.Leasing.Silo;
using OrleansKafka.Processing;
using Polly;
using Polly.Retry;

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
    private readonly ProcessorCatalog _catalog;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _silo;
    private string _group = string.Empty;
    private string _topic = string.Empty;
    private int _partition;
    private ProcessorBinding? _binding;
    private ProcessorPipeline? _pipeline;
    private ResiliencePipeline? _retry;
    private long _nextOffset = -1;
    private long _nextOffsetEpoch;
    private long _processed;
    private long _inFlightOffset = -1;
    private DateTimeOffset? _inFlightSince;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private int _retryAttempt;

    public PartitionGrain(LeaseTable leases, OwnerDirectory owners, PartitionActivations activations, CommitFlusher commits, ProcessorCatalog catalog, IServiceProvider services, TimeProvider time, ILocalSiloDetails silo, ILogger<PartitionGrain> logger)
    {
        _leases = leases;
        _owners = owners;
        _activations = activations;
        _commits = commits;
        _catalog = catalog;
        _services = services;
        _time = time;
        _logger = logger;
        _silo = SiloIdentity.Of(silo.SiloAddress);
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_group, _topic, _partition) = PartitionGrainKey.Parse(this.GetPrimaryKeyString());
        _binding = _catalog.Find(_group, _topic);
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

        this.MigrateOnIdle();
        return true;
    }

    public async Task<DeliveryOutcome> DeliverAsync(Immutable<PartitionDelivery> delivery)
    {
        var batch = delivery.Value;
        if (!_leases.TryGet(this.GetPrimaryKeyString(), out var lease))
        {
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
            // A new lease starts where the fetcher started, whatever this activation did before.
            _nextOffset = -1;
            _nextOffsetEpoch = lease.Epoch;
        }

        _pipeline ??= _binding.Registration.CreatePipeline(_services, _group);
        var records = batch.Records;
        var index = 0;
        while (index < records.Count && records[index].Offset.Value < _nextOffset)
        {
            index++;
        }

        if (index == records.Count)
        {
            return DeliveryOutcome.Completed;
        }

        if (_binding.Options.Delivery == DeliveryGuarantee.AtMostOnce)
        {
            lease.StoreProcessed(records[^1].Offset.Value + 1);
            await CommitNowAsync(lease);
            if (!lease.IsCurrent)
            {
                return DeliveryOutcome.Stopped;
            }
        }

        var atLeastOnce = _binding.Options.Delivery == DeliveryGuarantee.AtLeastOnce;
        try
        {
            while (index < records.Count)
            {
                // Checked against the clock before each record, not only through the token: a silo
                // that resumes from a freeze past its deadline must not start another record before
                // the token's timer has had its turn.
                if (!lease.IsCurrent)
                {
                    return DeliveryOutcome.Stopped;
                }

                var count = _pipeline.UnitLength(records.Count - index);
                _inFlightOffset = records[index].Offset.Value;
                _inFlightSince = _time.GetUtcNow();
                if (!await TryProcessAsync(records, index, count, lease, atLeastOnce))
                {
                    return DeliveryOutcome.Stopped;
                }

                index += count;
                _processed += count;
                _nextOffset = records[index - 1].Offset.Value + 1;
            }

        }
        finally
        {
            _inFlightOffset = -1;
            _inFlightSince = null;
            _retryAttempt = 0;
            // Whatever completed is committed, also when a revoke or shutdown cut the delivery short.
            if (atLeastOnce && _nextOffset >= 0)
            {
                lease.StoreProcessed(_nextOffset);
            }
        }

        return DeliveryOutcome.Completed;
    }

    public Task<PartitionStatus> GetStatusAsync()
    {
        var held = _leases.TryGet(this.GetPrimaryKeyString(), out var lease) && lease.IsCurrent;
        if (!held)
        {
            // A stale activation (its partition moved, or a call placed it before the owner was
            // known) answers this query as NotOwner, then goes to the owner for the next one.
            MoveToOwner();
        }

        var state = !held ? PartitionState.NotOwner
            : _retryAttempt > 0 ? PartitionState.Retrying
            : _inFlightOffset >= 0 ? PartitionState.Processing
            : PartitionState.Idle;
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
        });
    }

    private Task CommitNowAsync(LocalLease lease) => _commits.FlushAsync(lease.Group);

    /// <summary>Runs the processor; on failure retries with backoff until it succeeds or the lease ends.</summary>
    private async Task<bool> TryProcessAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, LocalLease lease, bool atLeastOnce)
    {
        var epoch = lease.Epoch;
        var token = lease.Token;
        try
        {
            await _pipeline!.InvokeAsync(records, index, count, epoch, token);
            return true;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex)
        {
            OnFailure(ex, records[index].Offset.Value);
            if (atLeastOnce && _nextOffset >= 0)
            {
                // Commit up to the failing record, so that only it and what follows wait for the retries.
                lease.StoreProcessed(_nextOffset);
            }
        }

        try
        {
            await Task.Delay(_binding!.Options.FirstRetryDelay, _time, token);
            _retry ??= BuildRetry();
            await _retry.ExecuteAsync(
                static async (state, ct) => await state.Self._pipeline!.InvokeAsync(state.Records, state.Index, state.Count, state.Epoch, ct),
                (Self: this, Records: records, Index: index, Count: count, Epoch: epoch),
                token);
            _retryAttempt = 0;
            return true;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return false;
        }
    }

    private void OnFailure(Exception exception, long offset)
    {
        _retryAttempt++;
        _lastError = $"{exception.GetType().Name}: {exception.Message}";
        _lastErrorAt = _time.GetUtcNow();
        LogProcessorFailed(_logger, exception, this.GetPrimaryKeyString(), offset, _retryAttempt);
    }

    private ResiliencePipeline BuildRetry()
    {
        var options = _binding!.Options;
        return new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                // Polly stops on its own when the lease's token fires; any other failure, a processor's own timeout included, is retried.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.FirstRetryDelay,
                MaxDelay = options.MaxRetryDelay,
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is { } ex)
                    {
                        OnFailure(ex, _inFlightOffset);
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Processor failed on {GrainKey} at offset {Offset} (attempt {Attempt}); the record stays uncommitted and is retried")]
    private static partial void LogProcessorFailed(ILogger logger, Exception exception, string grainKey, long offset, int attempt);
}
