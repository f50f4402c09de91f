using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansKafka.Configuration;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leasing;
using OrleansKafka.Telemetry;

namespace OrleansKafka.LeaseGrain;

/// <summary>The partition-lease grain of one consumer group; the logic lives in <see cref="LeaseBook"/>.</summary>
[GrainType("orleanskafka.lease")]
internal sealed partial class PartitionLeaseGrain(
    LeaseClock time,
    IOptions<KafkaProcessingOptions> options,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    ILogger<PartitionLeaseGrain> logger,
    PlacementMetrics metrics,
    [PersistentState("fence", KafkaProcessingOptions.StorageName)] IPersistentState<LeaseFenceRecord> fenceState) : Grain, IPartitionLeaseGrain, ILeaseProtocolGrain
{
    private LeaseFence _fence = null!;
    private LeaseBook _book = null!;
    private long _publishedAt;
    private readonly Dictionary<string, ILeaseAgentObserver> _agents = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The book starts once the fence is taken: its wait for unreported partitions counts from then.
        _fence = new LeaseFence(fenceState, time, this.GetPrimaryKeyString(), logger);
        await _fence.TakeAsync();
        _book = new LeaseBook(time, options.Value.LeaseDuration, LeaseFence.Validity, options.Value.Placement);

        // Interleaved: a write that waits for a slow store does not hold heartbeats up.
        this.RegisterGrainTimer(RenewFenceAsync, new GrainTimerCreationOptions(LeaseFence.RenewInterval, LeaseFence.RenewInterval) { Interleave = true });

        // Reports count once an earlier activation cannot answer any more: the silos that reported
        // before then beat again at once (a first start grants on those), not at their next renewal.
        this.RegisterGrainTimer(WakeAgents, new GrainTimerCreationOptions(_book.ReportsCountFrom + LeaseFence.TimerSlack, Timeout.InfiniteTimeSpan));

        // And once the partitions nobody reported may be granted (a dead silo's, after a restart of
        // this grain): the survivors beat at once to take them, not at their next renewal.
        this.RegisterGrainTimer(WakeAgents, new GrainTimerCreationOptions(_book.GrantsUnreportedFrom + LeaseFence.TimerSlack, Timeout.InfiniteTimeSpan));

        // Operators (and the chaos harness) learn from this where a group's leases are decided.
        LogActivated(logger, this.GetPrimaryKeyString(), SiloIdentity.Of(localSilo.SiloAddress), _fence.Generation);
    }

    private async Task RenewFenceAsync(CancellationToken cancellationToken)
    {
        await _fence.RenewAsync();
        if (_fence.IsLost)
        {
            DeactivateOnIdle();
        }
    }

    private Task WakeAgents(CancellationToken cancellationToken)
    {
        foreach (var agent in _agents.Values)
        {
            _ = agent.WakeAsync();
        }

        return Task.CompletedTask;
    }

    /// <summary>Refuses to act unless this activation holds a fresh fence (written now if it went stale): another activation may own the group.</summary>
    private async Task EnsureFencedAsync()
    {
        if (!await _fence.EnsureValidAsync())
        {
            throw new InvalidOperationException(_fence.IsLost
                ? $"The lease grain of consumer group '{this.GetPrimaryKeyString()}' on silo {localSilo.SiloAddress} was replaced by a newer activation; it no longer answers. Try again."
                : $"The lease grain of consumer group '{this.GetPrimaryKeyString()}' on silo {localSilo.SiloAddress} could not write its fence to grain storage within {LeaseFence.Validity.TotalMilliseconds:0} ms; it answers again once the store does.");
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        LogDeactivated(logger, this.GetPrimaryKeyString(), SiloIdentity.Of(localSilo.SiloAddress), reason.Description);
        metrics.Withdraw(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<LeaseResponse> HeartbeatAsync(SiloHeartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        await EnsureFencedAsync();

        var response = _book.Heartbeat(heartbeat, View(membership.CurrentSnapshot));
        foreach (var move in _book.TakeMoves())
        {
            LogRebalanced(logger, this.GetPrimaryKeyString(), move.Partition.Topic, move.Partition.Partition, move.To, move.Describe());
        }

        if (time.GetElapsedTime(_publishedAt) >= PublishEvery)
        {
            _publishedAt = time.GetTimestamp();
            metrics.Publish(this.GetPrimaryKeyString(), _book.Load(this.GetPrimaryKeyString()));
        }

        if (heartbeat.Leaving || heartbeat.Agent is null)
        {
            _agents.Remove(heartbeat.SiloId);
        }
        else
        {
            _agents[heartbeat.SiloId] = heartbeat.Agent;
        }

        // One-way: a dead silo's agent costs nothing here, and its leases expire all the same.
        foreach (var silo in _book.SilosWithNews(heartbeat.SiloId))
        {
            if (_agents.TryGetValue(silo, out var agent))
            {
                _ = agent.WakeAsync();
            }
        }

        return response;
    }

    public async Task<LeaseResponse> RenewAsync(LeaseRenewal renewal)
    {
        ArgumentNullException.ThrowIfNull(renewal);
        await EnsureFencedAsync();

        return _book.Renew(renewal.SiloId, renewal.Instance, renewal.Held, View(membership.CurrentSnapshot));
    }

    public async Task MoveAsync(string topic, int partition, string silo)
    {
        await EnsureFencedAsync();
        _book.Move(topic, partition, silo);
        LogMoved(logger, this.GetPrimaryKeyString(), topic, partition, silo);

        // Every agent beats at once: the owner learns of the revoke, then the target of its grant.
        foreach (var agent in _agents.Values)
        {
            _ = agent.WakeAsync();
        }
    }

    public Task<IReadOnlyList<PartitionAssignment>> GetAssignmentsAsync() => Task.FromResult(_book.Assignments());

    public Task<GroupLoad> GetLoadAsync() => Task.FromResult(_book.Load(this.GetPrimaryKeyString()));

    /// <summary>How often the group's figures go to this silo's gauges, at the most.</summary>
    private static readonly TimeSpan PublishEvery = TimeSpan.FromSeconds(1);

    internal static MembershipView View(ClusterMembershipSnapshot snapshot)
    {
        var active = new HashSet<string>(StringComparer.Ordinal);
        var dead = new HashSet<string>(StringComparer.Ordinal);
        var changing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in snapshot.Members.Values)
        {
            var id = SiloIdentity.Of(member.SiloAddress);
            var set = member.Status switch
            {
                SiloStatus.Active => active,
                SiloStatus.Dead => dead,
                SiloStatus.None => null,
                _ => changing,
            };
            set?.Add(id);
        }

        // A restarted silo reuses its endpoint: its old generation is dead but the identity lives on.
        dead.ExceptWith(active);
        changing.ExceptWith(active);
        return new MembershipView(active, dead, changing);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Consumer group {Group}: an operator moves partition {Topic}/{Partition} to silo {Silo}")]
    private static partial void LogMoved(ILogger logger, string group, string topic, int partition, string silo);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Consumer group {Group}: partition {Topic}/{Partition} moves to silo {Silo} to balance the load: {Figures}")]
    private static partial void LogRebalanced(ILogger logger, string group, string topic, int partition, string silo, string figures);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Lease grain of consumer group {Group} activated on silo {Silo} (fence generation {Generation})")]
    private static partial void LogActivated(ILogger logger, string group, string silo, long generation);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Lease grain of consumer group {Group} deactivated on silo {Silo}: {Reason}")]
    private static partial void LogDeactivated(ILogger logger, string group, string silo, string reason);
}
