using Microsoft.Extensions.Options;
using OrleansKafka.Configuration;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leasing;

namespace OrleansKafka.LeaseGrain;

/// <summary>
/// Keeps the names of the consumer groups silos process, and which silo runs which processor
/// where; silos re-register with every lease heartbeat, so losing it loses nothing.
/// </summary>
/// <remarks>
/// A silo's registration of a group replaces its previous one whole, so a silo restarted with
/// another configuration on the same endpoint is judged by its new one. A registration counts
/// while it is fresher than a lease length (live silos renew it every renew interval) and its
/// silo is not declared dead.
/// </remarks>
[GrainType("orleanskafka.catalog")]
internal sealed class ConsumerGroupCatalogGrain(
    IClusterMembershipService membership,
    IOptions<KafkaProcessingOptions> options,
    TimeProvider time) : Grain, IConsumerGroupCatalogGrain, ICatalogProtocolGrain
{
    private readonly SortedSet<string> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Silo, string Group), (GroupRegistration Registration, DateTimeOffset At)> _registrations = [];

    public Task RegisterAsync(GroupRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentException.ThrowIfNullOrEmpty(registration.Group);
        _groups.Add(registration.Group);
        _registrations[(registration.SiloId, registration.Group)] = (registration, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public async Task<string?> CheckAsync(GroupRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        Prune();

        // What an earlier run on the same endpoint registered no longer counts.
        foreach (var key in _registrations.Where(r => r.Key.Silo == registration.SiloId && r.Value.Registration.Instance != registration.Instance).Select(r => r.Key).ToList())
        {
            _registrations.Remove(key);
        }

        foreach (var (processor, topic) in registration.Processors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var other = _registrations.Values
                .Select(r => r.Registration)
                .Where(r => r.SiloId != registration.SiloId && r.Processors.TryGetValue(processor, out var t) && (r.Group != registration.Group || t != topic))
                .OrderBy(r => r.SiloId, StringComparer.Ordinal)
                .FirstOrDefault();
            if (other is not null)
            {
                return $"processor '{processor}' reads topic {topic} in consumer group '{registration.Group}' on this silo, but topic {other.Processors[processor]} in consumer group '{other.Group}' on silo {other.SiloId}. " +
                    "Every silo must give a processor the same group and topic, or the two groups would each process the topic's records once.";
            }
        }

        await RegisterAsync(registration);
        return null;
    }

    public Task<IReadOnlyList<string>> GetGroupsAsync() => Task.FromResult<IReadOnlyList<string>>([.. _groups]);

    private void Prune()
    {
        var staleBefore = time.GetUtcNow() - options.Value.LeaseDuration;
        var dead = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Dead)
            .Select(m => SiloIdentity.Of(m.SiloAddress))
            .ToHashSet(StringComparer.Ordinal);
        dead.ExceptWith(membership.CurrentSnapshot.Members.Values.Where(m => m.Status != SiloStatus.Dead).Select(m => SiloIdentity.Of(m.SiloAddress)));
        foreach (var (key, entry) in _registrations.ToList())
        {
            if (entry.At < staleBefore || dead.Contains(key.Silo))
            {
                _registrations.Remove(key);
            }
        }
    }
}
