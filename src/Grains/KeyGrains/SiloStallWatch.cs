using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansKafka.LeaseProtocol;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// Notices when this silo stalled (a SIGSTOP, a long GC pause, a suspended VM) and, until it has
/// read the membership table after the stall and found itself still active, tells the key grains
/// here to refuse records (<see cref="KeyGrainEpochFence"/>; the sender sends them again).
/// </summary>
/// <remarks>
/// <para>
/// Why: while this silo stood still, the cluster may have declared it dead, rejected the calls
/// the partition owners had sent to its grains, and sent them again to new activations elsewhere,
/// which went on with the keys' later records. The calls that were queued here run after the
/// thaw unless refused: a key's record would run again after a later one, beside the new
/// activation. (Calls of this silo's own leases are refused by the lease table instead.)
/// </para>
/// <para>
/// How: a tick every <see cref="TickInterval"/>, from a thread of its own (a backlog on the thread
/// pool does not delay it; a freeze or a GC pause does), timed on this silo's <see cref="LeaseClock"/>
/// (which counts across a suspend). A record arriving when the last tick is older than
/// <see cref="Threshold"/> is refused at once, so a call queued before the stall cannot slip in
/// before the first tick after it; that tick marks the silo as stalled and starts the check. The
/// threshold is at most a membership probe timeout (one failed probe can start a suspicion), so no
/// stall long enough for the cluster to declare this silo dead goes unnoticed.
/// </para>
/// <para>
/// What remains: a declaration made just after the check's read (votes already cast during the
/// stall) can still move a grain while its queued call runs here.
/// </para>
/// </remarks>
internal sealed partial class SiloStallWatch : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>How often the watch ticks.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest pause between ticks not taken for a stall, unless membership's probe timeout is shorter.</summary>
    public static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _clock;
    private readonly Func<CancellationToken, Task<bool>> _stillActive;
    private readonly Func<Action, IDisposable> _startTicking;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private IDisposable? _ticking;
    private volatile bool _started;
    private long _lastTick;
    private long _stalls;
    private long _cleared;
    private int _checking;

    public SiloStallWatch(LeaseClock clock, IClusterMembershipService membership, ILocalSiloDetails silo, IOptions<ClusterMembershipOptions> membershipOptions, ILogger<SiloStallWatch> logger)
        : this(clock, ThresholdFor(membershipOptions.Value), token => StillActiveAsync(membership, silo.SiloAddress, token), tick => new TickThread(tick, TickInterval), logger)
    {
    }

    /// <summary>
    /// A watch on <paramref name="clock"/> whose check after a stall is <paramref name="stillActive"/>,
    /// and whose ticks <paramref name="startTicking"/> starts (calling its action every <see cref="TickInterval"/> until disposed).
    /// </summary>
    public SiloStallWatch(TimeProvider clock, TimeSpan threshold, Func<CancellationToken, Task<bool>> stillActive, Func<Action, IDisposable> startTicking, ILogger<SiloStallWatch> logger)
    {
        _clock = clock;
        Threshold = threshold;
        _stillActive = stillActive;
        _startTicking = startTicking;
        _logger = logger;
        _lastTick = clock.GetTimestamp();
    }

    /// <summary>A pause between ticks longer than this is a stall.</summary>
    public TimeSpan Threshold { get; }

    /// <summary>
    /// False while key grains here must refuse records: since a stall, until the membership check
    /// after it, and while the watch has not ticked for longer than <see cref="Threshold"/>.
    /// </summary>
    public bool MayRun
    {
        get
        {
            // The tick is read before the stall count, and Tick counts a stall before it moves the
            // tick: a reader that sees the first tick after a stall also sees the stall counted.
            var lastTick = Volatile.Read(ref _lastTick);
            return Volatile.Read(ref _stalls) == Volatile.Read(ref _cleared) && (!_started || _clock.GetElapsedTime(lastTick) <= Threshold);
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloStallWatch), ServiceLifecycleStage.RuntimeInitialize, _ => { Start(); return Task.CompletedTask; }, _ => { Dispose(); return Task.CompletedTask; });

    /// <summary>Starts ticking; until then <see cref="MayRun"/> judges by the stalls counted alone.</summary>
    public void Start()
    {
        if (_started)
        {
            return;
        }

        Volatile.Write(ref _lastTick, _clock.GetTimestamp());
        _ticking = _startTicking(Tick);
        _started = true;
    }

    /// <summary>
    /// One tick (one at a time: the ticking thread's loop): a pause since the last one longer than
    /// <see cref="Threshold"/> counts as a stall and starts the check.
    /// </summary>
    public void Tick()
    {
        var now = _clock.GetTimestamp();
        var pause = _clock.GetElapsedTime(Volatile.Read(ref _lastTick), now);
        if (pause > Threshold)
        {
            // Counted before the tick moves (see MayRun).
            Interlocked.Increment(ref _stalls);
            LogStalled(_logger, pause.TotalSeconds);
        }

        Volatile.Write(ref _lastTick, now);

        if (Volatile.Read(ref _stalls) != Volatile.Read(ref _cleared) && Interlocked.CompareExchange(ref _checking, 1, 0) == 0)
        {
            _ = CheckAsync();
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _ticking?.Dispose();
    }

    /// <summary>Reads membership until it shows this silo active, then lets key grains run again; a silo declared dead is ended by Orleans meanwhile.</summary>
    private async Task CheckAsync()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                // Only the stalls counted before the read: one during it needs a read after it.
                var stalls = Volatile.Read(ref _stalls);
                try
                {
                    if (await _stillActive(_stopping.Token))
                    {
                        Volatile.Write(ref _cleared, stalls);
                        if (Volatile.Read(ref _stalls) == stalls)
                        {
                            LogResumed(_logger);
                            return;
                        }

                        continue;
                    }
                }
                catch (Exception ex) when (!_stopping.IsCancellationRequested)
                {
                    LogCheckFailed(_logger, ex);
                }

                await Task.Delay(TickInterval * 5, _clock, _stopping.Token);
            }
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            // The silo stops: whatever the read was doing is of no use now.
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private static async Task<bool> StillActiveAsync(IClusterMembershipService membership, SiloAddress self, CancellationToken cancellationToken)
    {
        // A view from before the stall would still show this silo active, and Refresh joins a read
        // already under way, which may have been sent before the freeze: the second read is sent
        // after the first has returned, so after the thaw.
        await membership.Refresh(default, cancellationToken);
        await membership.Refresh(default, cancellationToken);

        // Only a silo declared dead may have had its grains moved; one joining, leaving or
        // stopping still hosts its own.
        return membership.CurrentSnapshot.GetSiloStatus(self) is not (SiloStatus.Dead or SiloStatus.None);
    }

    /// <summary>The lesser of <see cref="LongestPause"/> and membership's probe timeout (one failed probe can start a suspicion).</summary>
    internal static TimeSpan ThresholdFor(ClusterMembershipOptions membership) =>
        membership.ProbeTimeout < LongestPause ? membership.ProbeTimeout : LongestPause;

    /// <summary>A background thread that calls its action every interval until disposed.</summary>
    private sealed class TickThread : IDisposable
    {
        private readonly ManualResetEventSlim _stop = new();

        public TickThread(Action tick, TimeSpan interval) =>
            new Thread(() =>
            {
                while (!_stop.Wait(interval))
                {
                    tick();
                }
            })
            { IsBackground = true, Name = "OrleansKafka stall watch" }.Start();

        public void Dispose() => _stop.Set();
    }

    [LoggerMessage(EventId = 1611, Level = LogLevel.Warning, Message = "This silo stood still for {Seconds:0.0} s; key grains here refuse records until membership shows it still active")]
    private static partial void LogStalled(ILogger logger, double seconds);

    [LoggerMessage(EventId = 1612, Level = LogLevel.Information, Message = "Membership shows this silo still active after its stall; key grains here take records again")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(EventId = 1613, Level = LogLevel.Warning, Message = "Could not read membership after this silo's stall; trying again")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
