using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;
using OrleansKafka.Fetching;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using Polly;
using Polly.Retry;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// This silo's side of one consumer group: heartbeats to the group's lease grain, starts
/// fetching partitions it is granted, drains and commits partitions it is asked to give up
/// before reporting them released, and stops at once on a lease that has run out.
/// </summary>
/// <remarks>
/// Heartbeats go out every renew interval, and at once when the lease grain wakes the agent
/// because a grant or a revoke is waiting for it, or when a drained partition can be reported
/// released: a partition changes hands in a few round trips rather than in renew intervals.
/// While a heartbeat is slow to be answered, renewals of the leases held go out in its place.
/// </remarks>
internal sealed partial class LeaseAgent : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, PartitionFeed> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LocalLease> _acquiring = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _revoking = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<LeaseGrant> _released = new();
    private readonly SemaphoreSlim _beat = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Waker _waker;
    private readonly string _group;
    private readonly IReadOnlyList<string> _topics;
    private readonly GroupRegistration _registration;
    private readonly LeaseAgentSettings _settings;
    private readonly LeaseTable _table;
    private readonly OwnerDirectory _owners;
    private readonly PartitionActivations _activations;
    private readonly GroupControlClient _control;
    private readonly FetchPool _pool;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Dictionary<string, int> _partitionCounts = new(StringComparer.Ordinal);
    private long _metadataReadAt;
    private Task _loop = Task.CompletedTask;
    private Task _metadataRefresh = Task.CompletedTask;
    private ILeaseAgentObserver? _wakerReference;
    private readonly Lock _nextBeatLock = new();
    private Task? _nextBeat;
    private readonly List<Task> _acquisitions = [];
    private bool _started;
    private bool _rejected;
    private long _answeredAt;
    private long _leaseDurationTicks;
    private long _sequence;

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
        _group = registration.Group;
        _topics = [.. registration.Processors.Values.Distinct(StringComparer.Ordinal)];
        _registration = registration;
        _settings = settings;
        _table = table;
        _owners = owners;
        _activations = activations;
        _control = control;
        _pool = pool;
        _grains = grains;
        _time = time;
        _logger = logger;
        _waker = new Waker(this);
    }

    /// <summary>The consumer group this agent leases partitions of.</summary>
    public string Group => _group;

    /// <summary>Whether the lease grain refuses this silo's processors for the group (see <see cref="Reject"/>).</summary>
    public bool IsRejected => Volatile.Read(ref _rejected);

    /// <summary>How long ago, on this silo's monotonic clock, the lease grain last answered a heartbeat or a renewal; null if it never has.</summary>
    public TimeSpan? SinceLastAnswer()
    {
        var answeredAt = Volatile.Read(ref _answeredAt);
        return answeredAt == 0 ? null : _time.GetElapsedTime(answeredAt);
    }

    /// <summary>Reads the topics' metadata (failing if a topic is missing or Kafka does not answer) and starts heartbeating.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _partitionCounts = await _control.PartitionCountsAsync(_topics, _settings.StartupTimeout).WaitAsync(cancellationToken);
        _metadataReadAt = _time.GetTimestamp();
        LogStarted(_logger, _group, string.Join(", ", _partitionCounts.Select(t => $"{t.Key} ({t.Value} partitions)")));

        // Created off the lifecycle's context: Orleans refuses an object reference made inside a grain's.
        _wakerReference = await Task.Run(() => _grains.CreateObjectReference<ILeaseAgentObserver>(_waker), cancellationToken);

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
                        throw new GroupConfigurationConflictException($"Consumer group '{_group}': {conflict}");
                    }

                    await BeatAsync(token);
                },
                cancellationToken);
        }
        catch (Exception ex) when (ex is not GroupConfigurationConflictException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Consumer group '{_group}': the cluster's group catalog or the group's lease grain did not answer within {Configuration.KafkaProcessingOptions.SectionName}:StartupTimeout ({_settings.StartupTimeout}); this silo cannot learn which partitions it owns.",
                ex);
        }

        _started = true;
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

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
                LogFirstHeartbeatRetry(_logger, args.Outcome.Exception, _group, args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

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
            foreach (var feed in _held.Values)
            {
                StartRevoke(feed);
            }

            acquisitions = [.. _acquisitions];
        }
        finally
        {
            _beat.Release();
        }

        // Acquisitions still reading offsets hand their leases back, for the final heartbeat to report.
        await Task.WhenAll(acquisitions);
        await Task.WhenAll(_revoking.Values);
        try
        {
            await BeatAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The leases expire on their own; the next owner waits a lease length at most.
            LogReleaseFailed(_logger, ex, _group);
        }

        if (_wakerReference is not null)
        {
            _grains.DeleteObjectReference<ILeaseAgentObserver>(_wakerReference);
        }

        _pool.Dispose();
        _control.Dispose();
    }

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
                beat = BeatOrLogAsync();
            }
            else
            {
                _ = RenewOrLogAsync();
            }
        }
        while (await WaitAsync(timer));
        await beat;
    }

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
