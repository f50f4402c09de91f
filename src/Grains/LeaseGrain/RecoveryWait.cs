namespace OrleansKafka.LeaseGrain;

/// <summary>
/// What a new lease book waits for before it grants a partition nobody reported: an earlier
/// activation of the grain answers for at most the fence's validity after this one took the
/// fence (when the book started; <see cref="LeaseFence"/>), and every lease it renewed runs out a
/// lease and the margin after that. Sooner only in a cluster's first start: membership knows of no
/// silo but active ones and each has reported everything it holds since an earlier activation
/// could last answer (a silo declared dead, joining or leaving may still hold leases never seen).
/// </summary>
/// <remarks>Times are since the book started, on the grain's monotonic clock.</remarks>
internal sealed class RecoveryWait(TimeSpan leaseDuration, TimeSpan margin, TimeSpan fenceValidity)
{
    /// <summary>
    /// From when on silos' reports show every lease they hold: an earlier activation of the grain
    /// answers for at most the fence's validity (plus the clocks' drift over it).
    /// </summary>
    public TimeSpan ReportsCountFrom { get; } = fenceValidity > TimeSpan.Zero ? fenceValidity + LeaseBook.DriftMargin(fenceValidity) : TimeSpan.Zero;

    /// <summary>From when on partitions nobody reported may be granted: every lease an earlier activation renewed has run out.</summary>
    public TimeSpan GrantsUnreportedFrom { get; } = fenceValidity + leaseDuration + margin;

    /// <summary>True once partitions nobody reported may be granted; reports no longer adopt a lease then.</summary>
    public bool Over { get; private set; }

    /// <summary>True when the wait ended early, in a cluster's first start: a first grant is a start, not an expiry.</summary>
    public bool ColdStart { get; private set; }

    /// <summary>Ends the wait when its time has come, or early in a first start; <paramref name="reportedSince"/> says whether a silo reported since a moment.</summary>
    public void Update(TimeSpan now, MembershipView? membership, Func<string, TimeSpan, bool> reportedSince)
    {
        if (!Over && now >= ReportsCountFrom && membership is not null && membership.Settled && membership.Active.All(s => reportedSince(s, ReportsCountFrom)))
        {
            Over = ColdStart = true;
        }

        Over = Over || now >= GrantsUnreportedFrom;
    }
}
