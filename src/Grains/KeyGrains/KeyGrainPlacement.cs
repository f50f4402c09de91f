using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.Runtime.Placement;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// Places a key grain whose class chooses no placement of its own on the silo that first calls
/// it (Orleans' <see cref="PreferLocalPlacement"/>): that is the silo owning the partition its key
/// is in, so its records arrive as local calls (no serialization, no network) instead of two in
/// three crossing to another silo, as with placement at random over three silos. A class with a
/// placement attribute keeps it. After a partition moves, its key grains stay where they were
/// until they are deactivated; the next activation follows the new owner.
/// </summary>
internal sealed class KeyGrainPlacement(GrainClassMap classes, IServiceProvider services) : IPlacementStrategyResolver
{
    private readonly ConcurrentDictionary<GrainType, bool> _keyGrains = new();

    public bool TryResolvePlacementStrategy(GrainType grainType, GrainProperties? properties, out PlacementStrategy result)
    {
        if (properties?.Properties.ContainsKey(WellKnownGrainTypeProperties.PlacementStrategy) != true && _keyGrains.GetOrAdd(grainType, IsKeyGrain))
        {
            result = services.GetRequiredKeyedService<PlacementStrategy>(nameof(PreferLocalPlacement));
            return true;
        }

        result = null!;
        return false;
    }

    private bool IsKeyGrain(GrainType grainType) =>
        classes.TryGetGrainClass(grainType, out var type) && Processing.ProcessorRegistration.Contract(type, typeof(IKafkaKeyGrain<>)) is not null;
}
