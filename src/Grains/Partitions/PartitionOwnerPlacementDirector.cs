using Orleans.Runtime.Placement;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// Puts a partition grain on the silo that holds the lease on its partition: the local silo when
/// it holds it (the fetch path's calls), else the owner the lease grain last reported (a status
/// query through another silo's gateway), else the placement hint of a migration, else locally.
/// An activation that still lands on a silo without the lease migrates to the lease holder on
/// the holder's first delivery.
/// </summary>
internal sealed class PartitionOwnerPlacementDirector(LeaseTable leases, OwnerDirectory owners) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
        {
            // A migration from a silo without the lease names the lease holder.
            return Task.FromResult(hinted);
        }

        var key = target.GrainIdentity.Key.ToString()!;
        if (leases.TryGet(key, out _) && compatible.Contains(context.LocalSilo))
        {
            return Task.FromResult(context.LocalSilo);
        }

        // Called from elsewhere (a status query through another gateway): go to the lease holder.
        if (owners.OwnerOf(key) is { } owner && compatible.FirstOrDefault(s => SiloIdentity.Of(s) == owner) is { } ownerSilo)
        {
            return Task.FromResult(ownerSilo);
        }

        if (compatible.Contains(context.LocalSilo))
        {
            return Task.FromResult(context.LocalSilo);
        }

        return Task.FromResult(compatible[(int)((uint)StringComparer.Ordinal.GetHashCode(key) % (uint)compatible.Length)]);
    }
}
