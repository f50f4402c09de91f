using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace OrleansKafka.Partitions;

/// <summary>
/// Puts a partition grain on the silo whose fetch path delivers to it. Only a silo holding the
/// lease delivers, so the first call to an owned partition comes from the owner and the grain
/// is placed locally. A grain activated by anyone else (a status query) reports that it is not
/// the owner, and the owner's fetch path activates its own copy when it gets the lease.
/// </summary>
internal sealed class PartitionOwnerPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
        {
            // A migration from a silo without the lease names the lease holder.
            return Task.FromResult(hinted);
        }

        if (compatible.Contains(context.LocalSilo))
        {
            return Task.FromResult(context.LocalSilo);
        }

        var key = target.GrainIdentity.Key.ToString();
        return Task.FromResult(compatible[(int)((uint)StringComparer.Ordinal.GetHashCode(key) % (uint)compatible.Length)]);
    }
}
