using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;
using Polly;
using Polly.Retry;

namespace OrleansKafka.Fetching;

/// <summary>
/// Hands one leased partition's buffered records to its partition grain, one delivery at a time:
/// resends a delivery the cluster could not take, waits for an operator while the grain holds at
/// a record, and sizes deliveries to the pace the grain processes them at. Ends when the buffer
/// closes, the lease's token fires, or the grain answers that it stopped.
/// </summary>
internal sealed partial class DeliveryPump
{
    private static readonly TimeSpan MaxResendDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a held delivery (or offset reset) is sent to the grain again while nobody acts.</summary>
    private static readonly TimeSpan HeldResendInterval = TimeSpan.FromSeconds(10);

    /// <summary>The records of a partition's first delivery.</summary>
    private const int FirstDeliverySize = 64;

    /// <summary>The fewest records a delivery is sized down to.</summary>
    private const int SmallestDelivery = 16;

    /// <summary>About how long a delivery's processing should take.</summary>
    private static readonly TimeSpan DeliveryTime = TimeSpan.FromMilliseconds(250);

    private readonly LocalLease _lease;
    private readonly PartitionBuffer _buffer;
    private readonly IPartitionDeliveryGrain _grain;
    private readonly HoldSignals _holds;
    private readonly Orleans.Runtime.SiloAddress? _silo;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxBatch;
    private readonly ResiliencePipeline<DeliveryOutcome> _resend;

    /// <summary>A pump for <paramref name="lease"/> into <paramref name="grain"/>, its partition grain; <paramref name="silo"/>, this silo, is named in each delivery as its sender (the lease holder).</summary>
    public DeliveryPump(LocalLease lease, PartitionBuffer buffer, IPartitionDeliveryGrain grain, HoldSignals holds, Orleans.Runtime.SiloAddress? silo, int maxBatch, TimeProvider time, ILogger logger)
    {
        _lease = lease;
        _buffer = buffer;
        _grain = grain;
        _holds = holds;
        _silo = silo;
        _maxBatch = maxBatch;
        _time = time;
        _logger = logger;
        _resend = BuildResend();
    }

    /// <summary>How many records a partition's first delivery takes, at most <paramref name="maxBatch"/>.</summary>
    public static int FirstDeliverySizeFor(int maxBatch) => Math.Min(FirstDeliverySize, maxBatch);

    /// <summary>Completes when the pump has stopped and no delivery is in flight.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start() => Completion = Task.Run(PumpAsync);

    private async Task PumpAsync()
    {
        var token = _lease.Token;
        using var listening = _holds.Listen(_lease.GrainKey, _buffer.Nudge);
        try
        {
            while (await _buffer.TakeAsync(token) is { } records)
            {
                DeliveryOutcome outcome;
                try
                {
                    // Key order reads each record to find its key and again, out of order, when it
                    // runs; a batch processor reads many at once (and telemetry and the size check
                    // read them too). Packed records keep only the last one built, so those get
                    // theirs built once, here; the buffer counted them so when they were taken.
                    IReadOnlyList<ConsumeResult<byte[], byte[]>> built = _buffer.BuildsWholeDeliveries ? [.. records] : records;
                    var delivery = new Immutable<PartitionDelivery>(new PartitionDelivery(built, _lease.Epoch, _silo));
                    var sent = _time.GetTimestamp();
                    outcome = await DeliverAsync(delivery, token);
                    if (outcome == DeliveryOutcome.Completed && records.Count > 0)
                    {
                        var busy = _time.GetElapsedTime(sent);
                        SizeNextDelivery(records.Count, busy);
                        _lease.Load.Delivered(records.Count, busy);
                    }

                    while (outcome == DeliveryOutcome.Held)
                    {
                        // The grain holds at a record of this delivery (or before it): the same
                        // records go again once an operator has acted, and every while, so that an
                        // activation that replaced the one that held shows the hold too. Fetching
                        // goes on until the buffer is full, then pauses.
                        await WaitForOperatorAsync(token);
                        outcome = await DeliverAsync(delivery, token);
                    }
                }
                finally
                {
                    // The records count against the silo's budget until their delivery is done with.
                    _buffer.EndDelivery();
                }

                if (outcome != DeliveryOutcome.Completed)
                {
                    return;
                }
            }

            if (_buffer.PendingReset is { } reset)
            {
                await ReportResetAsync(reset, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Revoked or shutting down: the drain that follows commits what was processed.
        }
        catch (Exception ex)
        {
            LogPumpFailed(_logger, ex, _lease.GrainKey);
        }
    }

    /// <summary>
    /// Tells the grain that the consumer stopped at an offset Kafka does not hold; while the grain
    /// holds (its processor's OnOffsetReset is Hold), tells it again after an operator acts and
    /// every <see cref="HeldResendInterval"/>, so that an activation that replaced the one told
    /// (a deactivation without a lease change) shows it too.
    /// </summary>
    private async Task ReportResetAsync(OffsetOutOfRange reset, CancellationToken token)
    {
        var outcome = await ResendAsync(static (state, _) => state.Grain.OffsetResetAsync(state.Reset, state.Epoch, state.Silo), (Grain: _grain, Reset: reset, _lease.Epoch, Silo: _silo), token);
        while (outcome == DeliveryOutcome.Held)
        {
            await WaitForOperatorAsync(token);
            outcome = await ResendAsync(static (state, _) => state.Grain.OffsetResetAsync(state.Reset, state.Epoch, state.Silo), (Grain: _grain, Reset: reset, _lease.Epoch, Silo: _silo), token);
        }
    }

    /// <summary>While the grain holds: returns once an operator acted on the partition, or after <see cref="HeldResendInterval"/>.</summary>
    private async Task WaitForOperatorAsync(CancellationToken token)
    {
        _buffer.IsHolding = true;
        try
        {
            await _holds.WaitAsync(_lease.GrainKey, token).WaitAsync(HeldResendInterval, _time, token);
        }
        catch (TimeoutException)
        {
            // Sent again all the same.
        }
        finally
        {
            _buffer.IsHolding = false;
        }
    }

    private ValueTask<DeliveryOutcome> ResendAsync<TState>(Func<TState, CancellationToken, Task<DeliveryOutcome>> call, TState state, CancellationToken token) =>
        _resend.ExecuteAsync(static async (s, t) => await s.Call(s.State, t), (Call: call, State: state), token);

    private ValueTask<DeliveryOutcome> DeliverAsync(Immutable<PartitionDelivery> delivery, CancellationToken token) =>
        _resend.ExecuteAsync(static async (state, _) => await state.Grain.DeliverAsync(state.Delivery), (Grain: _grain, Delivery: delivery), token);

    /// <summary>
    /// Resends a delivery that failed (a timeout or a lost activation: safe, because the grain
    /// skips offsets it has done) or reached an activation without the lease, until the lease
    /// ends. Short at first: a stale activation that answered NotOwner is usually gone within
    /// milliseconds. Capped at a quarter of a second: after a silo dies, calls to its partition
    /// grains fail until membership declares it dead, and a longer backoff would add its last
    /// wait to every failover.
    /// </summary>
    private ResiliencePipeline<DeliveryOutcome> BuildResend() => new ResiliencePipelineBuilder<DeliveryOutcome> { TimeProvider = _time }
        .AddRetry(new RetryStrategyOptions<DeliveryOutcome>
        {
            ShouldHandle = new PredicateBuilder<DeliveryOutcome>().Handle<Exception>().HandleResult(DeliveryOutcome.NotOwner),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(10),
            MaxDelay = MaxResendDelay,
            OnRetry = args =>
            {
                if (args.Outcome.Exception is { } ex)
                {
                    LogDeliveryFailed(_logger, ex, _lease.GrainKey, args.RetryDelay);
                }
                else
                {
                    LogNotOwner(_logger, _lease.GrainKey);
                }

                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>
    /// Sizes deliveries to about <see cref="DeliveryTime"/> of this partition's processing, as
    /// measured on the last one, between <see cref="SmallestDelivery"/> records and the configured
    /// most, moving by at most a factor of two at a time. Records handed over as client objects
    /// live until their delivery is processed: a fast processor gets whole fetches at once, while
    /// a slow one is not handed seconds' worth of records that would outlive several collections.
    /// </summary>
    private void SizeNextDelivery(int delivered, TimeSpan took)
    {
        var size = _buffer.DeliverySize;
        if (delivered < size)
        {
            // The buffer held less than a delivery: says nothing about the pace.
            return;
        }

        var wanted = took <= TimeSpan.Zero ? 2.0 * size : delivered * (DeliveryTime / took);
        var next = (int)Math.Clamp(wanted, size / 2.0, 2.0 * size);
        _buffer.DeliverySize = Math.Clamp(next, Math.Min(SmallestDelivery, _maxBatch), _maxBatch);
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Delivering records to partition grain {GrainKey} failed; resending in {Delay}")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string grainKey, TimeSpan delay);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Partition grain {GrainKey} answered from a silo without its lease (it moved here); resending once that activation is gone")]
    private static partial void LogNotOwner(ILogger logger, string grainKey);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Error, Message = "The feed of partition {GrainKey} stopped unexpectedly")]
    private static partial void LogPumpFailed(ILogger logger, Exception exception, string grainKey);
}
