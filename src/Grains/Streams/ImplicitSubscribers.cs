using System.Collections.Concurrent;
using Orleans.Metadata;
using Orleans.Streams;

namespace OrleansKafka.Streams;

/// <summary>
/// The grains implicitly subscribed to a stream namespace, from the cluster's grain bindings
/// (what <c>[ImplicitStreamSubscription("namespace")]</c> declares), and which grain of each
/// receives a stream: the grain Orleans' default stream id mapper names.
/// </summary>
/// <remarks>Exact namespaces only: a subscription by a namespace predicate is not followed.</remarks>
internal sealed class ImplicitSubscribers(IClusterManifestProvider manifests)
{
    private const string ExactPrefix = "namespace:";
    private readonly GrainBindingsResolver _bindings = new(manifests);
    private readonly DefaultStreamIdMapper _mapper = new();
    private readonly ConcurrentDictionary<string, (object Version, GrainBindings[] Grains)> _byNamespace = new(StringComparer.Ordinal);

    /// <summary>The grains that receive stream <paramref name="stream"/>, one per implicitly subscribed grain type.</summary>
    public GrainId[] Of(StreamId stream)
    {
        var ns = stream.GetNamespace() ?? string.Empty;
        var (version, all) = _bindings.GetAllBindings();
        if (!_byNamespace.TryGetValue(ns, out var cached) || !Equals(cached.Version, version))
        {
            var pattern = ExactPrefix + ns;
            cached = (version, [.. all.Values.Where(g => g.Bindings.Any(b =>
                b.TryGetValue("type", out var type) && type == "stream" && b.TryGetValue("pattern", out var p) && p == pattern))]);
            _byNamespace[ns] = cached;
        }

        var grains = cached.Grains.Length == 0 ? [] : new GrainId[cached.Grains.Length];
        for (var i = 0; i < grains.Length; i++)
        {
            grains[i] = GrainId.Create(cached.Grains[i].GrainType, _mapper.GetGrainKeyId(cached.Grains[i], stream));
        }

        return grains;
    }
}
