using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// References to grains through one interface, resolved once (and again when the cluster manifest changes). Orleans' <c>GetGrain(Type, key)</c>
/// and <c>AsReference&lt;T&gt;()</c> resolve the interface's id on every call, formatting its
/// type name anew: a tenth of what a key grain's record allocated (issue 24). A reference made here
/// is the one those calls make.
/// </summary>
internal sealed class GrainReferences
{
    private readonly IGrainFactory _grains;
    private readonly Type _interface;
    private readonly GrainInterfaceType _interfaceId;
    private readonly GrainInterfaceTypeToGrainTypeResolver _classes;
    private readonly IClusterManifestProvider _manifests;
    private volatile Resolved _resolved;

    /// <param name="grains">The silo's grain factory.</param>
    /// <param name="services">The silo's services, for Orleans' interface and grain type resolvers.</param>
    /// <param name="interfaceType">The grain interface the references implement.</param>
    public GrainReferences(IGrainFactory grains, IServiceProvider services, Type interfaceType)
    {
        _grains = grains;
        _interface = interfaceType;
        _interfaceId = services.GetRequiredService<GrainInterfaceTypeResolver>().GetGrainInterfaceType(interfaceType);
        _classes = services.GetRequiredService<GrainInterfaceTypeToGrainTypeResolver>();
        _manifests = services.GetRequiredService<IClusterManifestProvider>();
        _resolved = Resolve();
    }

    /// <summary>Whether references by key are made here (the class was found) rather than by Orleans' own call.</summary>
    public bool KnowsGrainClass => GrainType() is not null;

    /// <summary>The grain of <paramref name="key"/> (a string key).</summary>
    public IAddressable Of(string key) => Of(IdOf(key));

    /// <summary>The grain of <paramref name="key"/> (an integer key).</summary>
    public IAddressable Of(long key) => Of(IdOf(key));

    /// <summary>The id of the grain of <paramref name="key"/> (a string key), without a reference made for it.</summary>
    public GrainId IdOf(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return GrainType() is { } type ? GrainId.Create(type, IdSpan.Create(key)) : _grains.GetGrain(_interface, key).GetGrainId();
    }

    /// <summary>The id of the grain of <paramref name="key"/> (an integer key), without a reference made for it.</summary>
    public GrainId IdOf(long key) =>
        GrainType() is { } type ? GrainId.Create(type, GrainIdKeyExtensions.CreateIntegerKey(key)) : _grains.GetGrain(_interface, key).GetGrainId();

    /// <summary><paramref name="grain"/> through this interface.</summary>
    public IAddressable Of(GrainId grain) => _grains.GetGrain(grain, _interfaceId);

    /// <summary>
    /// The class implementing the interface, found as Orleans finds it for <c>GetGrain(Type, key)</c>,
    /// again whenever the cluster's manifest changes (a rolling deployment may rename or add a
    /// class); null where none or several are known: every reference by key is then Orleans' own.
    /// </summary>
    private GrainType? GrainType()
    {
        var resolved = _resolved;
        if (resolved.Version != _manifests.Current.Version)
        {
            _resolved = resolved = Resolve();
        }

        return resolved.Type;
    }

    private Resolved Resolve()
    {
        var version = _manifests.Current.Version;
        try
        {
            return new Resolved(version, _classes.TryGetGrainType(_interfaceId, out var type) ? type : null);
        }
        catch (ArgumentException)
        {
            return new Resolved(version, null);
        }
    }

    private sealed record Resolved(MajorMinorVersion Version, GrainType? Type);
}
