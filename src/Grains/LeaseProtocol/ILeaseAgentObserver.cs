using Orleans.Concurrency;

namespace OrleansKafka.LeaseProtocol;

/// <summary>A silo's lease agent of one consumer group, as the group's lease grain reaches it.</summary>
[Alias("OrleansKafka.ILeaseAgentObserver")]
internal interface ILeaseAgentObserver : IGrainObserver
{
    /// <summary>Heartbeat now rather than at the next renew interval: a grant or a revoke is waiting.</summary>
    [OneWay]
    Task WakeAsync();
}
