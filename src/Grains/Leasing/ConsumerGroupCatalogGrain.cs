using Orleans.Runtime;

namespace OrleansKafka.Leasing;

/// <summary>
/// Keeps the names of the consumer groups silos process, and which live silo runs which
/// processor where; silos re-register with every lease heartbeat, so losing it loses nothing.
/// </summary>
[GrainType("orleanskafka.catalog")]
internal sealed class ConsumerGroupCatalogGrain(IClusterMembershipService membership) : Grain, IConsumerGroupCatalogGrain
{
    private readonly SortedSet<string> _groups = new(StringComparer.Ordinal);

    // Processor name -> silo -> (group, topic).
    private readonly Dictionary<string, Dictionary<string, (string Group, string Topic)>> _processors = new(StringComparer.Ordinal);

    public Task RegisterAsync(GroupRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentException.ThrowIfNullOrEmpty(registration.Group);
        _groups.Add(registration.Group);
        foreach (var (processor, topic) in registration.Processors)
        {
            if (!_processors.TryGetValue(processor, out var bySilo))
            {
                _processors[processor] = bySilo = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            }

            bySilo[registration.SiloId] = (registration.Group, topic);
        }

        return Task.CompletedTask;
    }

    public async Task<string?> CheckAsync(GroupRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var live = Live();
        foreach (var bySilo in _processors.Values)
        {
            // Silos that died or left no longer count; the live ones re-register with every heartbeat.
            foreach (var silo in bySilo.Keys.Where(s => !live.Contains(s)).ToList())
            {
                bySilo.Remove(silo);
            }
        }

        foreach (var (processor, topic) in registration.Processors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var other = _processors.GetValueOrDefault(processor)?
                .Where(s => s.Key != registration.SiloId && live.Contains(s.Key) && (s.Value.Group != registration.Group || s.Value.Topic != topic))
                .OrderBy(s => s.Key, StringComparer.Ordinal)
                .Select(s => (Silo: s.Key, s.Value.Group, s.Value.Topic))
                .FirstOrDefault();
            if (other is { Silo: not null } o)
            {
                return $"processor '{processor}' reads topic {topic} in consumer group '{registration.Group}' on this silo, but topic {o.Topic} in consumer group '{o.Group}' on silo {o.Silo}. " +
                    "Every silo must give a processor the same group and topic, or the two groups would each process the topic's records once.";
            }
        }

        await RegisterAsync(registration);
        return null;
    }

    public Task<IReadOnlyList<string>> GetGroupsAsync() => Task.FromResult<IReadOnlyList<string>>([.. _groups]);

    private HashSet<string> Live() =>
        membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => SiloIdentity.Of(m.SiloAddress))
            .ToHashSet(StringComparer.Ordinal);
}
