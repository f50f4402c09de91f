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
    private readonly Dictionary<string, int> _partitionCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _topicsBySilo = new(StringComparer.Ordinal);
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
        var topics = string.Join(", ", heartbeat.Topics.Keys.Order(StringComparer.Ordinal));
        var other = _lastSeen.Keys.FirstOrDefault(s => s != silo && _topicsBySilo.GetValueOrDefault(s) is { } t && t != topics);
        if (other is not null && !heartbeat.Leaving)
        {
            // Silos that disagree on a group's topics would split it silently: the first ones win.
            return new LeaseResponse
            {
                Grants = [],
                LeaseDuration = leaseDuration,
                Rejected = $"this silo processes topic(s) [{topics}] for the group, but silo {other} processes [{_topicsBySilo[other]}]. " +
                    "Every silo must configure the same topics for a consumer group; this silo is granted none of its partitions.",
            };
        }

        _topicsBySilo[silo] = topics;
        if (heartbeat.Leaving)
        {
            _lastSeen.Remove(silo);
        }
        else
        {
            _lastSeen[silo] = now;
        }
        foreach (var (topic, count) in heartbeat.Topics)
        {
            _partitionCounts[topic] = Math.Max(count, _partitionCounts.GetValueOrDefault(topic));
            for (var p = 0; p < count; p++)
            {
                Slot(new TopicPartitionKey(topic, p));
            }
        }

        foreach (var released in heartbeat.Released)
        {
            var slot = Slot(new TopicPartitionKey(released.Topic, released.Partition));
            if (slot.Owner == silo && slot.Epoch == released.Epoch)
            {
                slot.Home = heartbeat.Leaving ? silo : slot.Home;
                slot.Owner = null;
                slot.Revoking = false;
            }
        }

        foreach (var held in heartbeat.Leaving ? [] : heartbeat.Held)
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

        if (!heartbeat.Leaving)
        {
            // A silo renews only what it still holds: a slot it was sent and no longer reports (lost
            // to local expiry, a failed acquire, or an answer it never got) is free again, not
            // renewed for ever to a silo that processes nothing of it.
            var held = heartbeat.Held.Select(h => (h.Topic, h.Partition, h.Epoch)).ToHashSet();
            foreach (var (key, slot) in _slots)
            {
                if (slot.Owner == silo && slot.Delivered && !held.Contains((key.Topic, key.Partition, slot.Epoch)))
                {
                    slot.Owner = null;
                    slot.Revoking = false;
                }
            }
        }

        Expire(now, membership);
        _recovered = _recovered
            || now - _startedAt >= leaseDuration
            || (membership is not null && membership.Active.All(_lastSeen.ContainsKey));

        var desired = LeaseAssignment.Compute(_lastSeen.Keys, _slots.Keys, p => _slots[p].Owner, p => _slots[p].Home);
        var grants = new List<LeaseGrant>();
        foreach (var (partition, slot) in _slots)
        {
            var target = desired.GetValueOrDefault(partition);
            if (slot.Owner is not null && slot.Owner == target)
            {
                slot.Revoking = false;
                if (slot.Owner == silo)
                {
                    slot.ExpiresAt = now + leaseDuration;
                }
            }
            else if (slot.Owner is not null)
            {
                slot.Revoking = true;
            }
            else if (target is not null && _recovered)
            {
                slot.Home = slot.Home == target ? null : slot.Home;
                slot.Owner = target;
                slot.Delivered = false;
                slot.Epoch = Math.Max(slot.Epoch, _epochFloor) + 1;
                slot.ExpiresAt = now + leaseDuration;
                slot.Revoking = false;
            }

            if (slot.Owner == silo && !slot.Revoking)
            {
                slot.Delivered = true;
                grants.Add(new LeaseGrant(partition.Topic, partition.Partition, slot.Epoch));
            }
        }

        return new LeaseResponse
        {
            Grants = grants,
            LeaseDuration = leaseDuration,
            Owners = [.. _slots.Where(kv => kv.Value.Owner is not null).Select(kv => new PartitionAssignment(kv.Key.Topic, kv.Key.Partition, kv.Value.Owner, kv.Value.Epoch, kv.Value.Revoking))],
        };
    }

    public IReadOnlyList<PartitionAssignment> Assignments()
    {
        Expire(time.GetUtcNow(), null);
        return [.. _slots.Select(kv => new PartitionAssignment(kv.Key.Topic, kv.Key.Partition, kv.Value.Owner, kv.Value.Epoch, kv.Value.Revoking))];
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
                    slot.Owner = null;
                    slot.Revoking = false;
                }
            }
        }

        foreach (var slot in _slots.Values)
        {
            if (slot.Owner is not null && slot.ExpiresAt <= now)
            {
                slot.Home = slot.Owner;
                slot.Owner = null;
                slot.Revoking = false;
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
