using Microsoft.Extensions.Options;
using Orleans.Runtime;
using OrleansKafka.Configuration;
using OrleansKafka.Leasing.Protocol;

namespace OrleansKafka.Leasing.Cluster;

/// <summary>The partition-lease grain of one consumer group; the logic lives in <see cref="LeaseBook"/>.</summary>
[GrainType("orleanskafka.lease")]
internal sealed class PartitionLeaseGrain(
    TimeProvider time,
    IOptions<KafkaProcessingOptions> options,
    IClusterMembershipService membership) : Grain, IPartitionLeaseGrain, ILeaseProtocolGrain
{
    private readonly LeaseBook _book = new(time, options.Value.LeaseDuration);
    private readonly Dictionary<string, ILeaseAgentObserver> _agents = new(StringComparer.Ordinal);

    public Task<LeaseResponse> HeartbeatAsync(SiloHeartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var response = _book.Heartbeat(heartbeat, View(membership.CurrentSnapshot));
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

        return Task.FromResult(response);
    }

    public Task<IReadOnlyList<PartitionAssignment>> GetAssignmentsAsync() => Task.FromResult(_book.Assignments());

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
}
