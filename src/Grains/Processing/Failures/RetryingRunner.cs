using System.Diagnostics;
using Confluent.Kafka;
using OrleansKafka.Configuration;
using OrleansKafka.KeyGrains;
using OrleansKafka.Telemetry;
using Polly;
using Polly.Retry;

namespace OrleansKafka.Processing.Failures;

/// <summary>
/// Runs a processor over a unit of records (one record, or a batch) with the processor's
/// retries: exponential backoff with jitter from <see cref="ProcessorOptions.FirstRetryDelay"/>
/// up to <see cref="ProcessorOptions.MaxRetryDelay"/>, at most
/// <see cref="ProcessorOptions.MaxAttempts"/> attempts, on the injected clock. A record that
/// cannot succeed (it does not deserialize, or exceeds <see cref="ProcessorOptions.MaxRecordBytes"/>)
/// is not retried, and a key grain's refusal (<see cref="StaleLeaseEpochException"/>) is thrown to the caller.
/// </summary>
internal sealed class RetryingRunner
{
    private readonly ProcessorPipeline _pipeline;
    private readonly ProcessorOptions _options;
    private readonly ResiliencePipeline _single;

    // With OnFailure HoldKey a failing record is tried once here: its key waits for the retries
    // (KeyHolds), so that they hold up nothing else.
    private readonly bool _retriesHere;
    private readonly PartitionTelemetry? _telemetry;

    /// <param name="pipeline">The processor.</param>
    /// <param name="options">Its retry and size settings.</param>
    /// <param name="time">The clock the backoff runs on.</param>
    /// <param name="onRetry">Told of each failed attempt that will be retried (the error, the attempt number from 1).</param>
    /// <param name="telemetry">The partition's spans and instruments, if any.</param>
    public RetryingRunner(ProcessorPipeline pipeline, ProcessorOptions options, TimeProvider time, Action<Exception, int> onRetry, PartitionTelemetry? telemetry = null)
    {
        _pipeline = pipeline;
        _options = options;
        _telemetry = telemetry;
        _retriesHere = options.MaxAttempts > 1 && options.OnFailure != FailureAction.HoldKey;
        _single = !_retriesHere ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                // Polly stops by itself when the lease's token fires. A processor's own timeout is retried.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not UnprocessableRecordException and not StaleLeaseEpochException),
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.FirstRetryDelay,
                MaxDelay = options.MaxRetryDelay,
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is { } ex)
                    {
                        _telemetry?.Retried();
                        onRetry(ex, args.AttemptNumber + 1);
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// Runs <c>records[index..index+count)</c>. A batch of several records is tried once: when it
    /// fails, the caller runs its records one at a time to find the failing one.
    /// </summary>
    /// <remarks>
    /// With <paramref name="firstFailure"/> (a single record whose first attempt already ran and
    /// failed in a unit of several): that attempt's error; only the retries run here.
    /// </remarks>
    /// <returns>Null when the unit succeeded, else the failure.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the lease ended).</exception>
    public async Task<RecordFailure?> RunAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken, Exception? firstFailure = null)
    {
        if (_telemetry is null)
        {
            return await RunUnitAsync(records, index, count, epoch, cancellationToken, firstFailure);
        }

        using var activity = _telemetry.StartProcess(records, index, count);
        var startedAt = Stopwatch.GetTimestamp();
        var failure = await RunUnitAsync(records, index, count, epoch, cancellationToken, firstFailure);
        if (failure?.Error is UnitIncompleteException incomplete)
        {
            // Only what completed counts here: the rest run again one by one, and count then.
            _telemetry.Completed(incomplete.Completed, startedAt, null, activity);
        }
        else
        {
            _telemetry.Completed(count, startedAt, failure?.Error, activity);
        }

        return failure;
    }

    private async Task<RecordFailure?> RunUnitAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken, Exception? firstFailure)
    {
        if (OverSize(records, index, count) is { } tooLarge)
        {
            return new RecordFailure(tooLarge, 0);
        }

        if (firstFailure is not null)
        {
            return firstFailure is UnprocessableRecordException || !_retriesHere
                ? new RecordFailure(firstFailure, 1)
                : await RetryAsync(firstFailure, records, index, epoch, cancellationToken);
        }

        try
        {
            // The first run goes straight to the processor: most records succeed, and the retry
            // pipeline costs an allocation and a closure per call.
            await _pipeline.InvokeAsync(records, index, count, epoch, cancellationToken);
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (StaleLeaseEpochException)
        {
            // A newer owner exists: neither a retry nor the failure policy applies; the caller stops.
            throw;
        }
        catch (Exception first) when (count == 1 && first is not UnprocessableRecordException && _retriesHere)
        {
            return await RetryAsync(first, records, index, epoch, cancellationToken);
        }
        catch (Exception ex)
        {
            // A batch is not retried as a whole (the caller narrows it to the failing record), and
            // neither is a record that cannot succeed.
            return new RecordFailure(ex, 1);
        }
    }

    /// <summary>The retries after a failed first run: the pipeline sees that run's error as its first attempt, then backs off.</summary>
    private async Task<RecordFailure?> RetryAsync(Exception first, IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, long epoch, CancellationToken cancellationToken)
    {
        var attempts = 0;
        Exception? pending = first;
        try
        {
            await _single.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    if (Interlocked.Exchange(ref pending, null) is { } error)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                    }

                    await _pipeline.InvokeAsync(records, index, 1, epoch, token);
                },
                cancellationToken);
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (StaleLeaseEpochException)
        {
            // A newer owner exists: neither a retry nor the failure policy applies; the caller stops.
            throw;
        }
        catch (Exception ex)
        {
            return new RecordFailure(ex, attempts);
        }
    }

    private UnprocessableRecordException? OverSize(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count)
    {
        if (_options.MaxRecordBytes <= 0)
        {
            return null;
        }

        for (var i = index; i < index + count; i++)
        {
            var message = records[i].Message;
            var size = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
            if (size > _options.MaxRecordBytes)
            {
                return new UnprocessableRecordException(
                    $"{records[i].Topic}/{records[i].Partition.Value} offset {records[i].Offset.Value} has {size} bytes of key and value, over the processor's MaxRecordBytes ({_options.MaxRecordBytes}).");
            }
        }

        return null;
    }
}
