using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Partitions;

/// <summary>
/// Runs a partition's records through its processor with the processor's retries, and applies
/// the failure policy to a record it gave up on: skip, dead-letter, or hold the partition at it.
/// Shared by both runs; it keeps the partition's progress and telemetry up to date.
/// </summary>
internal sealed partial class RecordRunner
{
    private readonly string _grainKey;
    private readonly string _group;
    private readonly ProcessorOptions _options;
    private readonly RetryingRunner _retrying;
    private readonly DeadLetterWriter _deadLetters;
    private readonly PartitionGate _gate;
    private readonly PartitionProgress _progress;
    private readonly PartitionControlStore _control;
    private readonly PartitionTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public RecordRunner(string grainKey, string group, ProcessorOptions options, Processing.ProcessorPipeline pipeline, DeadLetterWriter deadLetters, PartitionGate gate, PartitionProgress progress, PartitionControlStore control, PartitionTelemetry telemetry, TimeProvider time, ILogger logger)
    {
        _control = control;
        _grainKey = grainKey;
        _group = group;
        _options = options;
        _deadLetters = deadLetters;
        _gate = gate;
        _progress = progress;
        _telemetry = telemetry;
        _time = time;
        _logger = logger;
        _retrying = new RetryingRunner(pipeline, options, time, (ex, attempt) => Failed(ex, _progress.InFlightOffset, attempt), telemetry);
    }

    /// <summary>Now, on the grain's clock, for when a key was held.</summary>
    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>The failure action the processor is configured with.</summary>
    public FailureAction OnFailure => _options.OnFailure;

    /// <summary>Runs <c>records[index..index+count)</c> with the processor's retries; the failure if it gave up. Throws when the lease's token fires.</summary>
    public Task<RecordFailure?> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, LocalLease lease) =>
        RunAsync(records, index, count, lease, lease.Token);

    /// <summary>As <see cref="RunAsync(IReadOnlyList{ConsumeResult{byte[], byte[]}}, int, int, LocalLease)"/>, stopping only when <paramref name="cancellationToken"/> fires.</summary>
    /// <remarks><paramref name="firstFailure"/>: see <see cref="RetryingRunner.RunAsync"/>.</remarks>
    public async Task<RecordFailure?> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, LocalLease lease, CancellationToken cancellationToken, Exception? firstFailure = null)
    {
        var offset = RecordOffsets.OffsetAt(records, index);
        _progress.Started(offset);
        var failure = await _retrying.RunAsync(records, index, count, lease.Epoch, cancellationToken, firstFailure);
        if (failure is { Error: not UnitIncompleteException })
        {
            // The unit's own offset: in key order other records run meanwhile and move the one in flight.
            // A unit of a chain's records that ended early is not logged: the record it stopped at
            // runs again alone, and its attempts are.
            Failed(failure.Error, offset, failure.Attempts);
        }

        _progress.Ended();
        return failure;
    }

    /// <summary>Applies <paramref name="action"/> to a record the processor gave up on; false when the partition must hold at it instead.</summary>
    public async Task<bool> GiveUpAsync(ConsumeResult<byte[], byte[]> record, RecordFailure failure, FailureAction action, LocalLease lease)
    {
        switch (action)
        {
            case FailureAction.Skip:
                _progress.CountSkipped();
                _telemetry.Skipped();
                LogSkipped(_logger, failure.Error, _grainKey, record.Offset.Value, failure.Attempts);
                return true;
            case FailureAction.DeadLetter:
                var topic = _options.EffectiveDeadLetterTopic;
                try
                {
                    await _deadLetters.WriteAsync(topic, record, _group, failure.Error, failure.Attempts, lease.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !lease.Token.IsCancellationRequested)
                {
                    // Nothing may be lost: a record that cannot be dead-lettered holds the partition.
                    LogDeadLetterFailed(_logger, ex, _grainKey, record.Offset.Value, topic);
                    return false;
                }

                _progress.CountDeadLettered();
                _telemetry.DeadLettered();
                LogDeadLettered(_logger, failure.Error, _grainKey, record.Offset.Value, topic, failure.Attempts);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Holds the partition at <paramref name="record"/>: its status shows it, and nothing from it
    /// on runs until an operator decides, also after this activation is gone (the hold is stored).
    /// </summary>
    public async Task HoldAtAsync(ConsumeResult<byte[], byte[]> record, RecordFailure failure)
    {
        _telemetry.Held();
        _gate.HoldAt(record, failure);
        LogHolding(_logger, failure.Error, _grainKey, record.Offset.Value, failure.Attempts);
        await _control.SaveHoldAsync(_gate.Held!);
    }

    /// <summary>
    /// <paramref name="key"/> was just held at <paramref name="record"/>: its later records wait
    /// behind it while the other keys go on, also after this activation is gone (the keys are stored).
    /// </summary>
    public async Task HoldKeyAsync(HeldKeys keys, HeldKey key, ConsumeResult<byte[], byte[]> record)
    {
        if (key.RetryAt is { } retryAt)
        {
            LogKeyRetrying(_logger, _grainKey, key.Key, record.Offset.Value, key.Failure.Attempts, _options.MaxAttempts, retryAt);
        }
        else
        {
            _telemetry.Held();
            LogHoldingKey(_logger, key.Failure.Error, _grainKey, key.Key, record.Offset.Value, key.Failure.Attempts);
        }

        await _control.SaveKeyHoldsAsync(keys);
    }

    /// <summary>
    /// With HoldKey: when a held key's record is tried again by itself after <paramref name="failure"/>
    /// (backoff as the processor's retries); null once its attempts are used up, or when it cannot succeed.
    /// </summary>
    public DateTimeOffset? RetryAtFor(RecordFailure failure)
    {
        if (failure.Attempts < 1 || failure.Attempts >= _options.MaxAttempts || failure.Error is UnprocessableRecordException)
        {
            return null;
        }

        var delay = TimeSpan.FromTicks(Math.Min(_options.FirstRetryDelay.Ticks << Math.Min(failure.Attempts - 1, 30), _options.MaxRetryDelay.Ticks));
        return Now + delay;
    }

    /// <summary>The grain's clock.</summary>
    public TimeProvider Time => _time;

    /// <summary>An operator's decision about a held key is being carried out.</summary>
    public void HoldDecided(HeldKey key, HoldDecision decision) => LogKeyDecided(_logger, _grainKey, key.Key, key.FirstOffset, decision);

    /// <summary>The held keys and waiting records, for the metrics.</summary>
    public void ReportHeldKeys(HeldKeys keys) => _telemetry.KeysHeld(keys.Count, keys.Waiting);

    /// <summary>Stores the held keys as they are now.</summary>
    public Task SaveKeyHoldsAsync(HeldKeys keys) => _control.SaveKeyHoldsAsync(keys);

    /// <summary>An operator's decision about the held record is being applied: the stored hold goes.</summary>
    public Task HoldDecidedAsync() => _control.ClearHoldAsync();

    /// <summary>The failure action an operator's decision about a held record stands for; null for a retry.</summary>
    public static FailureAction? ActionOf(HoldDecision? decision) => decision switch
    {
        HoldDecision.Skip => FailureAction.Skip,
        HoldDecision.DeadLetter => FailureAction.DeadLetter,
        _ => null,
    };

    private void Failed(Exception exception, long offset, int attempt)
    {
        _progress.Failed(exception, attempt);
        LogProcessorFailed(_logger, exception, _grainKey, offset, attempt);
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Processor failed on {GrainKey} at offset {Offset} (attempt {Attempt})")]
    private static partial void LogProcessorFailed(ILogger logger, Exception exception, string grainKey, long offset, int attempt);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Skipped the record at offset {Offset} of {GrainKey} after {Attempts} attempt(s)")]
    private static partial void LogSkipped(ILogger logger, Exception exception, string grainKey, long offset, int attempts);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Wrote the record at offset {Offset} of {GrainKey} to dead-letter topic {Topic} after {Attempts} attempt(s)")]
    private static partial void LogDeadLettered(ILogger logger, Exception exception, string grainKey, long offset, string topic, int attempts);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Error, Message = "Could not write the record at offset {Offset} of {GrainKey} to dead-letter topic {Topic}; the partition holds at it")]
    private static partial void LogDeadLetterFailed(ILogger logger, Exception exception, string grainKey, long offset, string topic);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Error, Message = "Partition {GrainKey} holds key {Key} at offset {Offset} after {Attempts} attempt(s): its later records wait, the other keys go on, until an operator retries, skips or dead-letters the record")]
    private static partial void LogHoldingKey(ILogger logger, Exception exception, string grainKey, string key, long offset, int attempts);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Warning, Message = "Partition {GrainKey}: key {Key} waits at offset {Offset} after attempt {Attempts} of {MaxAttempts}; tried again at {RetryAt} while the other keys go on")]
    private static partial void LogKeyRetrying(ILogger logger, string grainKey, string key, long offset, int attempts, int maxAttempts, DateTimeOffset retryAt);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Information, Message = "Partition {GrainKey}: an operator's {Decision} of key {Key} at offset {Offset} is carried out; its waiting records run in order")]
    private static partial void LogKeyDecided(ILogger logger, string grainKey, string key, long offset, HoldDecision decision);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Error, Message = "Partition {GrainKey} holds at offset {Offset} after {Attempts} attempt(s), until an operator retries, skips or dead-letters the record")]
    private static partial void LogHolding(ILogger logger, Exception exception, string grainKey, long offset, int attempts);
}
