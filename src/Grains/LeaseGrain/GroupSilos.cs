using OrleansKafka.LeaseProtocol;

namespace OrleansKafka.LeaseGrain;

/// <summary>
/// The silos a <see cref="LeaseBook"/> counts as live for its group, with what each last
/// reported: its topics, its weight, and which run of it beat last and with which sequence number.
/// </summary>
/// <remarks>
/// A silo is live from its heartbeat until it leaves, is declared dead, or stays silent for a
/// lease. Its topics and last beat outlive that: a silo that was silent for a while and beats
/// again is still the run it was.
/// </remarks>
internal sealed class GroupSilos
{
    private readonly Dictionary<string, TimeSpan> _lastSeen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TimeSpan> _reportedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _capacities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> _lacks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _zones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Instance, long Sequence)> _lastBeat = new(StringComparer.Ordinal);

    /// <summary>The live silos.</summary>
    public IReadOnlyCollection<string> Live => _lastSeen.Keys;

    public bool IsLive(string silo) => _lastSeen.ContainsKey(silo);

    /// <summary>A silo's heartbeat, at <paramref name="now"/>: it is live, with these topics (sorted), this weight and this capacity.</summary>
    public void Beat(string silo, string[] topics, int weight, TimeSpan now, double capacity = 1, IReadOnlyList<string>? lacksRoles = null, string? zone = null)
    {
        _zones[silo] = zone;
        _capacities[silo] = capacity;
        _lacks[silo] = lacksRoles ?? [];
        _topics[silo] = topics;
        _weights[silo] = weight;
        _lastSeen[silo] = now;
        _reportedAt[silo] = now;
    }

    /// <summary>Whether the silo's last heartbeat (which reports every lease it holds; a renewal does not) came at or after <paramref name="since"/>.</summary>
    public bool ReportedSince(string silo, TimeSpan since) => _lastSeen.ContainsKey(silo) && _reportedAt.GetValueOrDefault(silo, TimeSpan.MinValue) >= since;

    /// <summary>A renewal from a live silo keeps it live.</summary>
    public void Seen(string silo, TimeSpan now) => _lastSeen[silo] = now;

    /// <summary>The silo is no longer one of the group's, and its topics no longer count.</summary>
    public void Forget(string silo)
    {
        _lastSeen.Remove(silo);
        _topics.Remove(silo);
    }

    /// <summary>The topics the silo last reported; null if it reported none.</summary>
    public string[]? TopicsOf(string silo) => _topics.GetValueOrDefault(silo);

    /// <summary>How many shares of the partitions the silo takes (1 unless it said otherwise).</summary>
    public int WeightOf(string silo) => _weights.GetValueOrDefault(silo, 1);

    /// <summary>The live silos that may be granted partitions: those that have every role the group's processors require.</summary>
    public IReadOnlyCollection<string> Eligible => [.. _lastSeen.Keys.Where(s => _lacks.GetValueOrDefault(s, []).Count == 0)];

    /// <summary>The zone the silo said it is in (<c>Kafka:Zone</c>); null when none.</summary>
    public string? ZoneOf(string silo) => _zones.GetValueOrDefault(silo);

    /// <summary>The roles the group's processors require that <paramref name="silo"/> said it lacks; empty when none.</summary>
    public IReadOnlyList<string> LacksRoles(string silo) => _lacks.GetValueOrDefault(silo, []);

    /// <summary>
    /// Why the group's partitions cannot be granted, when no live silo may take them: none is
    /// live, or every live one lacks a role the group's processors require. Null otherwise.
    /// </summary>
    public string? Waiting()
    {
        if (_lastSeen.Count == 0)
        {
            return "no live silo processes the group";
        }

        return Eligible.Count > 0 ? null
            : $"waiting for a silo with role(s) {string.Join(", ", _lastSeen.Keys.SelectMany(LacksRoles).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(r => $"'{r}'"))} (Kafka:Roles); " +
              $"the live silos ({string.Join(", ", _lastSeen.Keys.Order(StringComparer.Ordinal))}) lack it";
    }

    /// <summary>How much processing the silo said it can carry, in busy seconds a second.</summary>
    public double CapacityOf(string silo) => _capacities.GetValueOrDefault(silo, 1);

    /// <summary>The topics some live silo processes.</summary>
    public HashSet<string> LiveTopics() =>
        _lastSeen.Keys.SelectMany(s => _topics.GetValueOrDefault(s, [])).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The live silo whose topics for the group differ from the reporting one's, if the
    /// reporting silo must yield to it. A silo that still holds leases was accepted before (the
    /// grain may have restarted since); it wins over silos that own nothing (<paramref name="ownsAny"/>),
    /// which are forgotten, so a misconfigured silo that happens to beat first after a restart
    /// cannot lock the others out.
    /// </summary>
    public string? Conflict(string silo, string[] topics, bool holdsLeases, Func<string, bool> ownsAny)
    {
        List<string> others = [.. _lastSeen.Keys.Where(s => s != silo && _topics.GetValueOrDefault(s) is { } t && !t.SequenceEqual(topics, StringComparer.Ordinal))];
        if (others.Count == 0)
        {
            return null;
        }

        if (!holdsLeases || others.Any(ownsAny))
        {
            return others[0];
        }

        foreach (var loser in others)
        {
            Forget(loser);
        }

        return null;
    }

    /// <summary>True when <paramref name="instance"/> is not the run of the silo that beat last.</summary>
    public bool IsOtherRun(string silo, string? instance) =>
        instance is not null && _lastBeat.TryGetValue(silo, out var last) && last.Instance != instance;

    /// <summary>Silos declared dead, or silent for <paramref name="leaseDuration"/>, stop being live; returns them.</summary>
    public List<string> ExpireSilent(TimeSpan now, TimeSpan leaseDuration, MembershipView? membership)
    {
        var gone = _lastSeen
            .Where(s => (membership is not null && membership.Dead.Contains(s.Key)) || now - s.Value >= leaseDuration)
            .Select(s => s.Key)
            .ToList();
        foreach (var silo in gone)
        {
            _lastSeen.Remove(silo);
        }

        return gone;
    }

    /// <summary>True when a newer heartbeat of the same silo run was handled before this one; records this one otherwise.</summary>
    public bool Stale(SiloHeartbeat heartbeat)
    {
        if (heartbeat.Instance is null)
        {
            return false;
        }

        if (_lastBeat.TryGetValue(heartbeat.SiloId, out var last) && last.Instance == heartbeat.Instance && heartbeat.Sequence <= last.Sequence)
        {
            return true;
        }

        _lastBeat[heartbeat.SiloId] = (heartbeat.Instance, heartbeat.Sequence);
        return false;
    }
}
