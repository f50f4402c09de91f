using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Fetching;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;
using Polly;
using Polly.Retry;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// This silo's side of one consumer group: heartbeats to the group's lease grain
/// (<see cref="LeaseHeartbeat"/>), takes up the partitions it is granted and gives back those it
/// is asked to (<see cref="PartitionOwnership"/>, <see cref="PartitionRevoker"/>), and keeps the
/// topics' partition counts (<see cref="TopicMetadata"/>).
/// </summary>
/// <remarks>
/// Heartbeats go out every renew interval, and at once when the lease grain wakes the agent
/// because a grant or a revoke is waiting for it, or when a drained partition can be reported
/// released: a partition changes hands in a few round trips rather than in renew intervals.
/// </remarks>
internal sealed partial class LeaseAgent : IAsyncDisposable
{
    // The beat lock: held while a heartbeat takes its snapshot and applies its answer, while an
    // acquisition starts its feeds or hands leases back, while a revoked partition leaves and its
    // release is queued, and while shutdown gives every partition up (PartitionOwnership's
    // remarks say why).
    private readonly SemaphoreSlim _beat = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly GroupRegistration _registration;
    private readonly LeaseAgentSettings _settings;
    private readonly GroupControlClient _control;
    private readonly FetchPool _pool;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TopicMetadata _metadata;
    private readonly PartitionOwnership _ownership;
    private readonly LeaseHeartbeat _heartbeat;
    private readonly Waker _waker;
    private Task _loop = Task.CompletedTask;
    private bool _beating;

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
        _registration = registration;
        _settings = settings;
        _control = control;
        _pool = pool;
        _grains = grains;
        _time = time;
        _logger = logger;
        var group = registration.Group;
        var stopping = _stop.Token;
        _metadata = new TopicMetadata(group, [.. registration.Processors.Values.Distinct(StringComparer.Ordinal)], control, settings.MetadataRefreshInterval, settings.StartupTimeout, time, logger);
        var revoker = new PartitionRevoker(_beat, BeatSoonAsync, stopping, table, activations, control, pool, grains, logger);
        _ownership = new PartitionOwnership(group, _beat, BeatSoonAsync, stopping, table, control, pool, revoker, settings.StartupTimeout, settings.FirstStartsAtEnd, time, logger);
        _heartbeat = new LeaseHeartbeat(registration, settings, _beat, stopping, _metadata, _ownership, revoker, owners, grains, time, logger);
        _waker = new Waker(this);
    }

    /// <summary>The consumer group this agent leases partitions of.</summary>
    public string Group => _registration.Group;

    /// <summary>Whether the lease grain refuses this silo's processors for the group.</summary>
    public bool IsRejected => _heartbeat.IsRejected;

    /// <summary>How long ago, on this silo's monotonic clock, the lease grain last answered a heartbeat or a renewal; null if it never has.</summary>
    public TimeSpan? SinceLastAnswer() => _heartbeat.SinceLastAnswer();

    /// <summary>Whether this silo runs a feed of the partition that is not being given up.</summary>
    public bool Holds(string grainKey) => _ownership.Holds(grainKey);

    /// <inheritdoc cref="PartitionOwnership.Restart"/>
    public bool Restart(LocalLease lease, OwnershipReason reason) => _ownership.Restart(lease, reason);

    /// <summary>Reads the topics' metadata (failing if a topic is missing or Kafka does not answer) and starts heartbeating.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _metadata.ReadAsync(cancellationToken);
        LogStarted(_logger, Group, string.Join(", ", _metadata.Counts.Select(t => $"{t.Key} ({t.Value} partitions)")));

        // Created off the lifecycle's context: Orleans refuses an object reference made inside a grain's.
        _heartbeat.Attach(await Task.Run(() => _grains.CreateObjectReference<ILeaseAgentObserver>(_waker), cancellationToken));

        // The processor check and the first heartbeat are part of start-up, so a silo that
        // disagrees with the cluster on a processor's group or the group's topics fails to start.
        // They are retried while the grains are unreachable (their silo may be dying), but not
        // past the start-up timeout.
        try
        {
            await FirstBeatRetry().ExecuteAsync(
                async token =>
                {
                    if (await _grains.GetGrain<ICatalogProtocolGrain>(0).CheckAsync(_registration).WaitAsync(token) is { } conflict)
                    {
                        throw new GroupConfigurationConflictException($"Consumer group '{Group}': {conflict}");
                    }

                    await _heartbeat.BeatAsync(token);
                },
                cancellationToken);
        }
        catch (Exception ex) when (ex is not GroupConfigurationConflictException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Consumer group '{Group}': the cluster's group catalog or the group's lease grain did not answer within {KafkaProcessingOptions.SectionName}:StartupTimeout ({_settings.StartupTimeout}); this silo cannot learn which partitions it owns.",
                ex);
        }

        _heartbeat.MarkStarted();
        _beating = true;
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>The silo has finished starting: the agent asks for its share of the partitions once its heartbeats are answered on time.</summary>
    public void MarkReady() => _heartbeat.MarkReady();

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
            _ownership.RevokeAll();
            acquisitions = _ownership.Acquisitions();
        }
        finally
        {
            _beat.Release();
        }

        // Acquisitions still reading offsets hand their leases back, for the final heartbeat to report.
        await _ownership.DrainAsync(acquisitions);
        try
        {
            // An agent whose start failed before its first heartbeat was answered holds nothing to report.
            if (_beating)
            {
                await _heartbeat.BeatAsync(CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            // The leases expire on their own; the next owner waits a lease length at most.
            LogReleaseFailed(_logger, ex, Group);
        }

        if (_heartbeat.AgentReference is { } reference)
        {
            _grains.DeleteObjectReference<ILeaseAgentObserver>(reference);
        }

        try
        {
            // A background metadata read uses the control client's admin client: it ends before
            // that client closes, unless Kafka is away (then half a lease at most).
            await _metadata.Refreshing.WaitAsync(_settings.HeartbeatTimeout, _time);
        }
        catch (TimeoutException)
        {
        }

        _pool.Dispose();
        _control.Dispose();
    }

    // The revoker and the ownership ask for a beat through this method rather than the heartbeat
    // itself: the heartbeat needs them, so it is built after them, and is read here only when called.
    private Task BeatSoonAsync() => _heartbeat.BeatSoonAsync();

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
                LogFirstHeartbeatRetry(_logger, args.Outcome.Exception, Group, args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_settings.RenewInterval, _time);
        var beat = Task.CompletedTask;
        do
        {
            // One heartbeat at a time, since each answer is applied in turn. One still unanswered
            // a renew interval on (the silos' CPUs are saturated, a GC is long) would let the
            // leases run out behind it when its answer comes late or never: they are renewed on
            // their own meanwhile, as often as heartbeats would renew them.
            if (beat.IsCompleted)
            {
                beat = _heartbeat.BeatOrLogAsync();
            }
            else
            {
                _ = _heartbeat.RenewOrLogAsync();
            }
        }
        while (await WaitAsync(timer));
        await beat;
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

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Consumer group {Group} started on this silo; topics: {Topics}")]
    private static partial void LogStarted(ILogger logger, string group, string topics);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "First lease heartbeat of consumer group {Group} failed; attempt {Attempt} follows")]
    private static partial void LogFirstHeartbeatRetry(ILogger logger, Exception? exception, string group, int attempt);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Reporting the released leases of consumer group {Group} at shutdown failed")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string group);

    /// <summary>What the lease grain calls to wake the agent; the agent keeps it alive (Orleans holds it weakly).</summary>
    private sealed class Waker(LeaseAgent agent) : ILeaseAgentObserver
    {
        public Task WakeAsync()
        {
            _ = agent.BeatSoonAsync();
            return Task.CompletedTask;
        }
    }
}
