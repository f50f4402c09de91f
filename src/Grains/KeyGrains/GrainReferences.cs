using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// References to grains through one interface, resolved once. Orleans' <c>GetGrain(Type, key)</c>
/// and <c>AsReference&lt;T&gt;()</c> resolve the interface's id on every call, formatting its
/// type name anew: a tenth of what a key grain's record allocated (issue 24). A reference made here
/// is the one those calls make.
/// </summary>
internal sealed class GrainReferences
{
    private readonly IGrainFactory _grains;
    private readonly Type _interface;
    private readonly GrainInterfaceType _interfaceId;
    private readonly GrainType? _grainType;

    /// <param name="grains">The silo's grain factory.</param>
    /// <param name="services">The silo's services, for Orleans' interface and grain type resolvers.</param>
    /// <param name="interfaceType">The grain interface the references implement.</param>
    public GrainReferences(IGrainFactory grains, IServiceProvider services, Type interfaceType)
    {
        _grains = grains;
        _interface = interfaceType;
        _interfaceId = services.GetRequiredService<GrainInterfaceTypeResolver>().GetGrainInterfaceType(interfaceType);

        // The class implementing it is found as Orleans finds it for GetGrain(Type, key); where
        // none or several are known, every reference by key is made by Orleans' own call.
        _grainType = GrainTypeOf(services.GetRequiredService<GrainInterfaceTypeToGrainTypeResolver>(), _interfaceId);
    }

    private static GrainType? GrainTypeOf(GrainInterfaceTypeToGrainTypeResolver resolver, GrainInterfaceType interfaceId)
    {
        try
        {
            return resolver.TryGetGrainType(interfaceId, out var grainType) ? grainType : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Whether references by key are made here (the class was found once) rather than by Orleans' own call.</summary>
    public bool KnowsGrainClass => _grainType is not null;

    /// <summary>The grain of <paramref name="key"/> (a string key).</summary>
    public IAddressable Of(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return _grainType is { } type ? _grains.GetGrain(GrainId.Create(type, IdSpan.Create(key)), _interfaceId) : _grains.GetGrain(_interface, key);
    }

    /// <summary>The grain of <paramref name="key"/> (an integer key).</summary>
    public IAddressable Of(long key) =>
        _grainType is { } type ? _grains.GetGrain(GrainId.Create(type, GrainIdKeyExtensions.CreateIntegerKey(key)), _interfaceId) : _grains.GetGrain(_interface, key);

    /// <summary><paramref name="grain"/> through this interface.</summary>
    public IAddressable Of(GrainId grain) => _grains.GetGrain(grain, _interfaceId);
}
