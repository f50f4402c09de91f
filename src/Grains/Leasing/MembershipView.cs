namespace OrleansKafka.Leasing;

/// <summary>What Orleans membership says of the silos, by the identity silos report in heartbeats.</summary>
internal sealed record MembershipView(IReadOnlySet<string> Active, IReadOnlySet<string> Dead);
