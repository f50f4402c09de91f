using OrleansKafka.Configuration;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leasing;
using OrleansKafka.Partitions;

namespace OrleansKafka.LeaseGrain;

/// <summary>
/// The partition-lease state machine of one consumer group, kept apart from the grain so that
/// it can be tested on a fake clock.
/// </summary>
/// <remarks>
/// The lease rule (a partition is granted again only once every earlier grant has run out at its
/// holder, on two monotonic clocks; membership never shortens a lease; a release the holder
/// reported is the one fast path), how a partition moves in two steps, and what a new activation
/// waits for: docs/architecture.md, "The lease rule" and "Lease protocol".
/// </remarks>
internal sealed class LeaseBook(TimeProvider time, TimeSpan leaseDuration, TimeSpan fenceValidity = default, PlacementOptions? placement = null)
{
    private readonly LeasePlacement _placement = new(placement ?? new PlacementOptions { BalanceBy = BalanceBy.Count });
    private readonly GroupSilos _silos = new();
    private readonly SortedDictionary<TopicPartitionKey, LeaseSlot> _slots = [];
    private readonly TimeProvider _time = time;
    private readonly long _origin = time.GetTimestamp();

    // Epochs must grow across activations of the lease grain too, also for a partition whose
    // last owner died and reports nothing: every grant of this activation is above a floor
    // taken from the wall clock (a thousand grants per partition per millisecond of the
    // activation's start), so it is above every epoch an earlier activation handed out, as long
    // as the wall clock did not step back between the two.
    private readonly long _epochFloor = time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000;
    private readonly RecoveryWait _wait = new(leaseDuration, DriftMargin(leaseDuration), fenceValidity);

    public TimeSpan LeaseDuration { get; } = leaseDuration;

    /// <summary>How long after a revoke an owner still reporting the slot held is renewed, so that its calls can finish (Orleans' default call timeout).</summary>
    public static readonly TimeSpan MaxDrain = TimeSpan.FromSeconds(30);

    /// <summary>
    /// What this book adds to a lease before it counts it as run out at the holder: a twentieth
    /// of the lease, at least 50 ms. Clock rates differ by well under a thousandth (NTP slews
    /// monotonic clocks by at most 0.05 %); the rest covers a holder noticing its own deadline late.
    /// </summary>
    public TimeSpan Margin { get; } = DriftMargin(leaseDuration);

    public static TimeSpan DriftMargin(TimeSpan leaseDuration) =>
        TimeSpan.FromTicks(Math.Max(leaseDuration.Ticks / 20, TimeSpan.FromMilliseconds(50).Ticks));

    /// <inheritdoc cref="RecoveryWait.ReportsCountFrom"/>
    public TimeSpan ReportsCountFrom => _wait.ReportsCountFrom;

    /// <inheritdoc cref="RecoveryWait.GrantsUnreportedFrom"/>
    public TimeSpan GrantsUnreportedFrom => _wait.GrantsUnreportedFrom;

    /// <summary>Monotonic time since this book started.</summary>
    private TimeSpan Now() => _time.GetElapsedTime(_origin);

    public LeaseResponse Heartbeat(SiloHeartbeat heartbeat, MembershipView? membership = null)
    {
        var now = Now();
        var silo = heartbeat.SiloId;
        Expire(now, membership);
        if (heartbeat.Leaving)
        {
            // A leaving silo only hands back what it drained; its topics no longer count for the group.
            _silos.Forget(silo);
            Unpin(silo);
            Release(silo, heartbeat.Released, home: true);
            Assign(now, silo, membership);
            return Answer([]);
        }

        string[] topics = [.. heartbeat.Topics.Keys.Order(StringComparer.Ordinal)];
        if (_silos.Conflict(silo, topics, heartbeat.Held.Count > 0, s => _slots.Values.Any(slot => slot.Owner == s)) is { } other)
        {
            // Silos that disagree on a group's topics would split it silently: the first ones win.
            // What a refused silo drained and hands back is taken all the same, and goes on at once.
            Release(silo, heartbeat.Released, home: false);
            Assign(now, silo, membership);
            return new LeaseResponse
            {
                Grants = [],
                LeaseDuration = LeaseDuration,
                Rejected = $"this silo processes topic(s) [{string.Join(", ", topics)}] for the group, but silo {other} processes [{string.Join(", ", _silos.TopicsOf(other)!)}]. " +
                    "Every silo must configure the same topics for a consumer group; this silo is granted none of its partitions.",
            };
        }

        _silos.Beat(silo, topics, heartbeat.Weight, now, heartbeat.Capacity, heartbeat.LacksRoles, heartbeat.Zone);
        foreach (var (topic, count) in heartbeat.Topics)
        {
            for (var p = 0; p < count; p++)
            {
                Slot(new TopicPartitionKey(topic, p));
            }
        }

        Release(silo, heartbeat.Released, home: false);
        LeasePlacement.Record(heartbeat, _slots);
        foreach (var held in heartbeat.Held)
        {
            var slot = Slot(new TopicPartitionKey(held.Topic, held.Partition));
            if (!_wait.Over && (slot.Owner is null ? held.Epoch >= slot.Epoch : held.Epoch > slot.Epoch))
            {
                // Rebuilding after this grain moved or restarted: the reporting silo still holds a
                // lease we never saw. Of several reports the newest epoch wins: an older one may be
                // a lease that ran out and whose feed is still stopping.
                slot.Owner = silo;
                slot.Delivered = true;
                slot.Epoch = held.Epoch;
                slot.ExpiresAt = now + LeaseDuration + Margin;
            }
        }

        // A silo renews only what it still holds: a slot it was sent and no longer reports (lost
        // to local expiry, a failed acquire, or an answer it never got) is free again, not
        // renewed for ever to a silo that processes nothing of it. One it still reports under an
        // older epoch is being taken up under the new one (the old feed stops first).
        // Only a current report says what the silo no longer holds: a heartbeat that was delayed
        // and is handled after a newer one of the same run would free what the silo took up since.
        if (!_silos.Stale(heartbeat))
        {
            var stillHeld = heartbeat.Held.Select(h => (h.Topic, h.Partition)).ToHashSet();
            foreach (var (key, slot) in _slots)
            {
                if (slot.Owner == silo && slot.Delivered && !stillHeld.Contains((key.Topic, key.Partition)))
                {
                    slot.Free(OwnershipReason.Expiry);
                }
            }
        }

        Expire(now, membership);
        var grants = Assign(now, silo, membership);
        return Answer(grants) with { Draining = Drain(now, silo, heartbeat.Held) };
    }

    /// <summary>Renews what <paramref name="silo"/> gives up and still reports held (<see cref="LeaseSlot.TryDrain"/>): safe as any renewal; granted again only after a release or expiry.</summary>
    private List<LeaseGrant> Drain(TimeSpan now, string silo, IReadOnlyList<LeaseGrant> held) =>
        [.. held.Where(g => _slots.TryGetValue(new TopicPartitionKey(g.Topic, g.Partition), out var slot) && slot.TryDrain(silo, g.Epoch, now, now + LeaseDuration + Margin))
            .Select(g => new LeaseGrant(g.Topic, g.Partition, g.Epoch))];

    /// <summary>
    /// A renewal between heartbeats: extends the leases of <paramref name="held"/> that this book
    /// has with the silo under the same epoch and is not revoking, and nothing else. It frees,
    /// grants and revokes nothing, so renewals handled in any order, or after a newer heartbeat,
    /// leave the book as they found it but for later deadlines. A silo this book does not count as
    /// live (silent for a lease, leaving, or another run of it) renews nothing: it heartbeats first.
    /// </summary>
    /// <returns>The leases renewed.</returns>
    public LeaseResponse Renew(string silo, string? instance, IReadOnlyList<LeaseGrant> held, MembershipView? membership = null)
    {
        var now = Now();
        Expire(now, membership);
        var renewed = new List<LeaseGrant>();
        if (_silos.IsLive(silo) && !_silos.IsOtherRun(silo, instance))
        {
            _silos.Seen(silo, now);
            foreach (var grant in held)
            {
                if (_slots.TryGetValue(new TopicPartitionKey(grant.Topic, grant.Partition), out var slot)
                    && slot.Owner == silo && slot.Epoch == grant.Epoch && slot.Delivered && !slot.Revoking)
                {
                    slot.ExpiresAt = now + LeaseDuration + Margin;
                    renewed.Add(new LeaseGrant(grant.Topic, grant.Partition, grant.Epoch));
                }
            }
        }

        return new LeaseResponse { Grants = renewed, LeaseDuration = LeaseDuration };
    }

    /// <summary>
    /// The silos, other than the one that just beat, with news they learn only from their next
    /// heartbeat: a grant not yet sent to them, or a revoke not yet told. The grain wakes them
    /// so that a partition changes hands in round trips rather than in renew intervals.
    /// </summary>
    public IReadOnlyCollection<string> SilosWithNews(string except) =>
        [.. _slots.Values
            .Where(s => s.Owner is not null && s.Owner != except && _silos.IsLive(s.Owner) && (!s.Delivered || (s.Revoking && !s.RevokeTold)))
            .Select(s => s.Owner!)
            .Distinct(StringComparer.Ordinal)];

    public IReadOnlyList<PartitionAssignment> Assignments()
    {
        Expire(Now(), null);
        return [.. _slots.Select(Assignment)];
    }

    /// <summary>
    /// An operator moves a partition to a silo of the group: it is revoked from its owner and
    /// granted there, and stays there while that silo is live (the others are balanced around it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The partition or the silo is not one of the group's.</exception>
    public void Move(string topic, int partition, string silo)
    {
        // A silo silent for a lease is no longer one of the group's, whatever the last beat said.
        Expire(Now(), null);
        if (!_slots.TryGetValue(new TopicPartitionKey(topic, partition), out var slot))
        {
            throw new InvalidOperationException($"Topic '{topic}' has no partition {partition} in this consumer group.");
        }

        if (!_silos.IsLive(silo) || _silos.LacksRoles(silo).Count > 0)
        {
            var why = _silos.IsLive(silo) ? $"lacks role(s) {string.Join(", ", _silos.LacksRoles(silo))} this consumer group's processors require" : "does not process this consumer group";
            throw new InvalidOperationException($"Silo '{silo}' {why}; expected one of: {string.Join(", ", _silos.Eligible.Order(StringComparer.Ordinal))}.");
        }

        slot.PinnedTo = silo;
        slot.PlannedTo = null;
    }

    /// <summary>A move holds while its silo is live; gone, its partitions are balanced like any other.</summary>
    private void Unpin(string silo)
    {
        foreach (var slot in _slots.Values.Where(s => s.PinnedTo == silo))
        {
            slot.PinnedTo = null;
        }
    }

    private PartitionAssignment Assignment(KeyValuePair<TopicPartitionKey, LeaseSlot> slot) =>
        new(slot.Key.Topic, slot.Key.Partition, slot.Value.Owner, slot.Value.Epoch, slot.Value.Revoking) { Cost = slot.Value.Load?.Cost, Waiting = slot.Value.Owner is null ? _silos.Waiting() : null };

    /// <summary>The group's measured load per live silo and the silos it needs.</summary>
    public GroupLoad Load(string group)
    {
        Expire(Now(), null);
        return _placement.Load(group, _silos, _slots);
    }

    /// <inheritdoc cref="LeasePlacement.TakeMoves"/>
    public List<LoadAssignment.Move> TakeMoves() => _placement.TakeMoves();

    private List<LeaseGrant> Assign(TimeSpan now, string silo, MembershipView? membership)
    {
        _wait.Update(now, membership, _silos.ReportedSince);

        // Partitions of topics no live silo processes (the group's topics were changed) are not
        // handed out: nobody would process them, and each grant would be freed again at once.
        var liveTopics = _silos.LiveTopics();
        var desired = _placement.Desired(now, _silos, _slots, [.. _slots.Keys.Where(p => liveTopics.Contains(p.Topic))], _wait.Over);
        var grants = new List<LeaseGrant>();
        foreach (var (partition, slot) in _slots)
        {
            var target = desired.GetValueOrDefault(partition);
            if (slot.Owner is not null && slot.Owner != target && !slot.Delivered)
            {
                // Its owner was never sent the grant, so nobody processes it: it is free at once,
                // and what was handed over with it still holds.
                slot.Free(slot.FreedBecause, slot.HandOff);
            }

            if (slot.Owner is not null && slot.Owner == target)
            {
                slot.Revoking = false;
                if (slot.Owner == silo)
                {
                    slot.ExpiresAt = now + LeaseDuration + Margin;
                }
            }
            else if (slot.Owner is not null && !slot.Revoking)
            {
                slot.Revoking = true;
                slot.RevokeTold = false;
                slot.RevokedAt = now;
            }
            else if (slot.Owner is null && target is not null && _wait.Over)
            {
                slot.Home = slot.Home == target ? null : slot.Home;
                slot.Owner = target;
                slot.Delivered = false;
                slot.Epoch = Math.Max(slot.Epoch, _epochFloor) + 1;
                slot.ExpiresAt = now + LeaseDuration + Margin;
                slot.Revoking = false;
            }

            if (slot.Owner == silo && slot.Revoking)
            {
                // Left out of this answer: the owner now knows to drain and release it.
                slot.RevokeTold = true;
            }
            else if (slot.Owner == silo)
            {
                if (!slot.Delivered)
                {
                    slot.GrantedBecause = Reason(slot);
                }

                slot.Delivered = true;
                grants.Add(new LeaseGrant(partition.Topic, partition.Partition, slot.Epoch, slot.HandOff, slot.GrantedBecause, slot.PlanDetail));
                slot.HandOff = -1;
            }
        }

        return grants;
    }

    /// <summary>
    /// Why a slot is granted. One this book never granted before is a start only in a cold start;
    /// after this grain moved or restarted, its last owner (unknown here) stopped reporting and its
    /// lease ran out.
    /// </summary>
    private OwnershipReason Reason(LeaseSlot slot) =>
        slot.FreedBecause != OwnershipReason.Start || _wait.ColdStart ? slot.FreedBecause : OwnershipReason.Expiry;

    private LeaseResponse Answer(List<LeaseGrant> grants) => new()
    {
        Grants = grants,
        LeaseDuration = LeaseDuration,
        Owners = [.. _slots.Where(kv => kv.Value.Owner is not null).Select(Assignment)],
    };

    private void Release(string silo, IReadOnlyList<LeaseGrant> released, bool home)
    {
        foreach (var grant in released)
        {
            if (_slots.TryGetValue(new TopicPartitionKey(grant.Topic, grant.Partition), out var slot))
            {
                slot.Release(silo, grant, home);
            }
        }
    }

    private void Expire(TimeSpan now, MembershipView? membership)
    {
        // A silo declared dead or silent for a lease no longer counts for the assignment, but
        // keeps what it holds until its leases have run out: it may only be frozen.
        foreach (var silo in _silos.ExpireSilent(now, LeaseDuration, membership))
        {
            Unpin(silo);
        }

        foreach (var slot in _slots.Values)
        {
            if (slot.Owner is not null && slot.ExpiresAt <= now)
            {
                // A silo that is gone gets its partitions back first if it returns; one that was
                // merely slow to drain a revoked partition does not.
                slot.Home = slot.Revoking && _silos.IsLive(slot.Owner) ? slot.Home : slot.Owner;
                slot.Free(membership?.Dead.Contains(slot.Owner) == true ? OwnershipReason.Death : OwnershipReason.Expiry);
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
