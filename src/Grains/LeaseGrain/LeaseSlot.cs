using OrleansKafka.Partitions;

namespace OrleansKafka.LeaseGrain;

/// <summary>The lease grain's record of one partition.</summary>
internal sealed class LeaseSlot
{
    public string? Owner { get; set; }

    /// <summary>The epoch of the latest grant; only grows.</summary>
    public long Epoch { get; set; }

    /// <summary>When the lease runs out at the latest at its holder, on the lease book's monotonic clock.</summary>
    public TimeSpan ExpiresAt { get; set; }

    /// <summary>The owner has been sent the latest grant (grants reach a silo only in answers to its own heartbeats).</summary>
    public bool Delivered { get; set; }

    /// <summary>The owner has been asked to give the partition up and has not yet released it.</summary>
    public bool Revoking { get; set; }

    /// <summary>When the slot was marked <see cref="Revoking"/>, on the lease book's monotonic clock: a drain is renewed for at most <see cref="LeaseBook.MaxDrain"/> from then.</summary>
    public TimeSpan RevokedAt { get; set; }

    /// <summary>The owner has had a heartbeat answer that leaves the partition out since it was marked <see cref="Revoking"/>.</summary>
    public bool RevokeTold { get; set; }

    /// <summary>
    /// The offset its last owner committed when it released the partition, handed to the next
    /// owner with the grant; -1 when the partition was freed any other way (nothing to trust).
    /// </summary>
    public long HandOff { get; set; } = -1;

    /// <summary>
    /// Renews the lease of an owner still draining it (revoked, still reported held under this
    /// epoch) to <paramref name="expiresAt"/>, within <see cref="LeaseBook.MaxDrain"/> of the revoke.
    /// </summary>
    public bool TryDrain(string silo, long epoch, TimeSpan now, TimeSpan expiresAt)
    {
        if (Owner != silo || Epoch != epoch || !Delivered || !Revoking || now - RevokedAt >= LeaseBook.MaxDrain)
        {
            return false;
        }

        ExpiresAt = expiresAt;
        return true;
    }

    /// <summary>
    /// No owner any more. <paramref name="handOff"/> is the committed offset the next owner may
    /// start from: only a release (or a grant taken back before anyone saw it) has one.
    /// </summary>
    public void Free(OwnershipReason reason, long handOff = -1)
    {
        Owner = null;
        Revoking = false;
        HandOff = handOff;
        FreedBecause = reason;
    }

    /// <summary>
    /// <paramref name="silo"/> released the lease of <paramref name="grant"/>: free, if it is the
    /// current grant. Why, for the next owner's history: an offset reset or an operator's move (a
    /// seek, or a pin elsewhere) says so; otherwise the silo left (<paramref name="home"/>: the
    /// partition goes back to it if it returns) or a rebalance took it.
    /// </summary>
    public void Release(string silo, LeaseProtocol.LeaseGrant grant, bool home)
    {
        if (Owner != silo || Epoch != grant.Epoch)
        {
            return;
        }

        Home = home ? silo : Home;
        var reason = grant.Reason == OwnershipReason.OffsetReset ? grant.Reason
            : grant.Reason == OwnershipReason.Operator || (PinnedTo is { } pin && pin != silo) ? OwnershipReason.Operator
            : home ? OwnershipReason.Leave : OwnershipReason.Rebalance;
        Free(reason, grant.Offset);
    }

    /// <summary>The silo an operator moved the partition to: the assignment keeps it there while that silo is live.</summary>
    public string? PinnedTo { get; set; }

    /// <summary>Why the latest grant was made; sent again with its renewals. A lease adopted from a silo's report says Start.</summary>
    public OwnershipReason GrantedBecause { get; set; } = OwnershipReason.Start;

    /// <summary>Why the partition was last freed: what its next grant says in the ownership history.</summary>
    public OwnershipReason FreedBecause { get; private set; } = OwnershipReason.Start;

    /// <summary>
    /// The silo that last lost this partition by leaving or dying rather than by a rebalance:
    /// when a silo of that identity is back, the partition goes back to it first.
    /// </summary>
    public string? Home { get; set; }

    /// <summary>The silo a rebalance by load is moving the partition to; cleared once it owns it.</summary>
    public string? PlannedTo { get; set; }

    /// <summary>The figures of the rebalance that planned the move (<see cref="PlannedTo"/>), sent with its grant for the ownership history.</summary>
    public string? PlanDetail { get; set; }

    /// <summary>What its owner last measured of the partition (<see cref="LeaseProtocol.PartitionLoad"/>); null before any report.</summary>
    public LeaseProtocol.PartitionLoad? Load { get; set; }

    /// <summary>The zone (rack) of the partition's leader broker, as a silo last reported it; null when unknown.</summary>
    public string? LeaderZone { get; set; }
}
