namespace OrleansKafka.LeaseGrain;

/// <summary>What Orleans membership says of the silos, by the identity silos report in heartbeats.</summary>
/// <param name="Active">Silos that are active.</param>
/// <param name="Dead">Silos declared dead whose identity no active silo has taken over.</param>
/// <param name="Changing">Silos joining or shutting down: neither active nor dead.</param>
internal sealed record MembershipView(IReadOnlySet<string> Active, IReadOnlySet<string> Dead, IReadOnlySet<string> Changing)
{
    /// <summary>
    /// True when every silo membership knows of is active: none joining, shutting down, or dead
    /// (a silo declared dead may only be frozen, and still hold leases).
    /// </summary>
    public bool Settled => Dead.Count == 0 && Changing.Count == 0;
}
