namespace OrleansKafka.Leasing;

/// <summary>
/// The partition-lease state machine of one consumer group, kept apart from the grain so that
/// it can be tested on a fake clock.
/// </summary>
/// <remarks>
/// A partition moves in two steps: its owner is first left out of its heartbeat answer (it
/// stops, drains and commits, then reports the release), and only then is it granted to the new
/// owner with a higher epoch. A silo that stops reporting loses its leases when they expire;
/// one that membership declares dead loses them at once. After the grain itself (re)activates,
/// it grants nothing new until every live silo has reported what it holds or a lease length has
/// passed, so that it never hands out a partition some silo still holds.
/// </remarks>
internal sealed class LeaseBook(TimeProvider time, TimeSpan leaseDuration)
{
    private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _topicsBySilo = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _weightBySilo = new(StringComparer.Ordinal);
    private readonly SortedDictionary<TopicPartitionKey, LeaseSlot> _slots = [];
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    // Epochs must grow across activations of the lease grain too, also for a partition whose
    // last owner died and reports nothing: every grant of this activation is above a floor
    // taken from the clock (a million grants per partition per second of the activation's
    // start), so it is above every epoch an earlier activation handed out.
    private readonly long _epochFloor = time.GetUtcNow().ToUnixTimeSeconds() * 1_000_000;
    private bool _recovered;

    public TimeSpan LeaseDuration => leaseDuration;

    public LeaseResponse Heartbeat(SiloHeartbeat heartbeat, MembershipView? membership = null)
    {
        var now = time.GetUtcNow();
        var silo = heartbeat.SiloId;
        Expire(now, membership);
        if (heartbeat.Leaving)
        {
            // A leaving silo only hands back what it drained; its topics no longer count for the group.
            _lastSeen.Remove(silo);
            _topicsBySilo.Remove(silo);
            Release(silo, heartbeat.Released, home: true);
            Assign(now, silo, membership);
            return Answer([]);
        }

        string[] topics = [.. heartbeat.Topics.Keys.Order(StringComparer.Ordinal)];
        if (Conflict(silo, topics, heartbeat.Held) is { } other)
        {
            // Silos that disagree on a group's topics would split it silently: the first ones win.
            // What a refused silo drained and hands back is taken all the same, and goes on at once.
            Release(silo, heartbeat.Released, home: false);
            Assign(now, silo, membership);
            return new LeaseResponse
            {
                Grants = [],
                LeaseDuration = leaseDuration,
                Rejected = $"this silo processes topic(s) [{string.Join(", ", topics)}] for the group, but silo {other} processes [{string.Join(", ", _topicsBySilo[other])}]. " +
                    "Every silo must configure the same topics for a consumer group; this silo is granted none of its partitions.",
            };
        }

        _topicsBySilo[silo] = topics;
        _weightBySilo[silo] = heartbeat.Weight;
        _lastSeen[silo] = now;
        foreach (var (topic, count) in heartbeat.Topics)
        {
            for (var p = 0; p < count; p++)
            {
                Slot(new TopicPartitionKey(topic, p));
            }
        }

        Release(silo, heartbeat.Released, home: false);
        foreach (var held in heartbeat.Held)
        {
            var slot = Slot(new TopicPartitionKey(held.Topic, held.Partition));
            if (slot.Owner is null && held.Epoch >= slot.Epoch && now - _startedAt < leaseDuration)
            {
                // Rebuilding after this grain moved or restarted: the reporting silo still holds a lease we never saw.
                slot.Owner = silo;
                slot.Delivered = true;
                slot.Epoch = held.Epoch;
                slot.ExpiresAt = now + leaseDuration;
            }
        }

        // A silo renews only what it still holds: a slot it was sent and no longer reports (lost
        // to local expiry, a failed acquire, or an answer it never got) is free again, not
        // renewed for ever to a silo that processes nothing of it. One it still reports under an
        // older epoch is being taken up under the new one (the old feed stops first).
        var stillHeld = heartbeat.Held.Select(h => (h.Topic, h.Partition)).ToHashSet();
        foreach (var (key, slot) in _slots)
        {
            if (slot.Owner == silo && slot.Delivered && !stillHeld.Contains((key.Topic, key.Partition)))
            {
                slot.Free();
            }
        }

        Expire(now, membership);
        return Answer(Assign(now, silo, membership));
    }

    /// <summary>
    /// The silos, other than the one that just beat, with news they learn only from their next
    /// heartbeat: a grant not yet sent to them, or a revoke not yet told. The grain wakes them
    /// so that a partition changes hands in round trips rather than in renew intervals.
    /// </summary>
    public IReadOnlyCollection<string> SilosWithNews(string except) =>
        [.. _slots.Values
            .Where(s => s.Owner is not null && s.Owner != except && (!s.Delivered || (s.Revoking && !s.RevokeTold)))
            .Select(s => s.Owner!)
            .Distinct(StringComparer.Ordinal)];

    public IReadOnlyList<PartitionAssignment> Assignments()
    {
        Expire(time.GetUtcNow(), null);
        return [.. _slots.Select(Assignment)];
    }

    private static PartitionAssignment Assignment(KeyValuePair<TopicPartitionKey, LeaseSlot> slot) =>
        new(slot.Key.Topic, slot.Key.Partition, slot.Value.Owner, slot.Value.Epoch, slot.Value.Revoking);

    private List<LeaseGrant> Assign(DateTimeOffset now, string silo, MembershipView? membership)
    {
        _recovered = _recovered
            || now - _startedAt >= leaseDuration
            || (membership is not null && membership.Active.All(_lastSeen.ContainsKey));

        // Partitions of topics no live silo processes (the group's topics were changed) are not
        // handed out: nobody would process them, and each grant would be freed again at once.
        var liveTopics = _lastSeen.Keys.SelectMany(s => _topicsBySilo.GetValueOrDefault(s, [])).ToHashSet(StringComparer.Ordinal);
        var desired = LeaseAssignment.Compute(_lastSeen.Keys, _slots.Keys.Where(p => liveTopics.Contains(p.Topic)), p => _slots[p].Owner, p => _slots[p].Home, s => _weightBySilo.GetValueOrDefault(s, 1));
        var grants = new List<LeaseGrant>();
        foreach (var (partition, slot) in _slots)
        {
            var target = desired.GetValueOrDefault(partition);
            if (slot.Owner is not null && slot.Owner != target && !slot.Delivered)
            {
                // Its owner was never sent the grant, so nobody processes it: it is free at once,
                // and what was handed over with it still holds.
                slot.Free(slot.HandOff);
            }

            if (slot.Owner is not null && slot.Owner == target)
            {
                slot.Revoking = false;
                if (slot.Owner == silo)
                {
                    slot.ExpiresAt = now + leaseDuration;
                }
            }
            else if (slot.Owner is not null && !slot.Revoking)
            {
                slot.Revoking = true;
                slot.RevokeTold = false;
            }
            else if (slot.Owner is null && target is not null && _recovered)
            {
                slot.Home = slot.Home == target ? null : slot.Home;
                slot.Owner = target;
                slot.Delivered = false;
                slot.Epoch = Math.Max(slot.Epoch, _epochFloor) + 1;
                slot.ExpiresAt = now + leaseDuration;
                slot.Revoking = false;
            }

            if (slot.Owner == silo && slot.Revoking)
            {
                // Left out of this answer: the owner now knows to drain and release it.
                slot.RevokeTold = true;
            }
            else if (slot.Owner == silo)
            {
                slot.Delivered = true;
                grants.Add(new LeaseGrant(partition.Topic, partition.Partition, slot.Epoch, slot.HandOff));
                slot.HandOff = -1;
            }
        }

        return grants;
    }

    private LeaseResponse Answer(List<LeaseGrant> grants) => new()
    {
        Grants = grants,
        LeaseDuration = leaseDuration,
        Owners = [.. _slots.Where(kv => kv.Value.Owner is not null).Select(Assignment)],
    };

    /// <summary>
    /// The live silo whose topics for the group differ from the reporting one's, if the
    /// reporting silo must yield to it. A silo that still holds leases was accepted before (the
    /// grain may have restarted since); it wins over silos that own nothing, so a misconfigured
    /// silo that happens to beat first after a restart cannot lock the others out.
    /// </summary>
    private string? Conflict(string silo, string[] topics, IReadOnlyList<LeaseGrant> held)
    {
        var others = _lastSeen.Keys
            .Where(s => s != silo && _topicsBySilo.GetValueOrDefault(s) is { } t && !t.SequenceEqual(topics, StringComparer.Ordinal))
            .ToList();
        if (others.Count == 0)
        {
            return null;
        }

        if (held.Count == 0 || others.Any(s => _slots.Values.Any(slot => slot.Owner == s)))
        {
            return others[0];
        }

        foreach (var loser in others)
        {
            _lastSeen.Remove(loser);
            _topicsBySilo.Remove(loser);
        }

        return null;
    }

    private void Release(string silo, IReadOnlyList<LeaseGrant> released, bool home)
    {
        foreach (var grant in released)
        {
            if (_slots.TryGetValue(new TopicPartitionKey(grant.Topic, grant.Partition), out var slot) && slot.Owner == silo && slot.Epoch == grant.Epoch)
            {
                slot.Home = home ? silo : slot.Home;
                slot.Free(grant.Offset);
            }
        }
    }

    private void Expire(DateTimeOffset now, MembershipView? membership)
    {
        foreach (var (silo, seen) in _lastSeen.ToArray())
        {
            var declaredDead = membership is not null && membership.Dead.Contains(silo);
            if (declaredDead || now - seen >= leaseDuration)
            {
                _lastSeen.Remove(silo);
                foreach (var slot in _slots.Values.Where(s => s.Owner == silo && declaredDead))
                {
                    slot.Home = silo;
                    slot.Free();
                }
            }
        }

        foreach (var slot in _slots.Values)
        {
            if (slot.Owner is not null && slot.ExpiresAt <= now)
            {
                // A silo that stopped renewing is probably gone; one that was slow to drain a revoked partition is not.
                slot.Home = slot.Revoking ? slot.Home : slot.Owner;
                slot.Free();
            }
        }
    }

    private LeaseSlot Slot(TopicPartitionKey key)
    {
        if (!_slots.TryGetValue(key, out var slot))
        {
            slot = new LeaseSlot();
            _slots[key] = slot;
        }

        return slot;
    }
}
