namespace OrleansKafka.Delivery;

/// <summary>What became of a delivery.</summary>
// The alias keeps the wire name it had before the type moved, so silos of both versions talk during an upgrade.
[GenerateSerializer, Alias("OrleansKafka.Partitions.DeliveryOutcome")]
internal enum DeliveryOutcome
{
    /// <summary>Every record was processed; send the next delivery.</summary>
    Completed = 0,

    /// <summary>The lease was revoked, lost or the silo is stopping; stop delivering.</summary>
    Stopped = 1,

    /// <summary>The call reached an activation on a silo without the lease; it is deactivating, so resend.</summary>
    NotOwner = 2,

    /// <summary>The partition holds at a record until an operator decides; resend the delivery once told (<c>HoldSignals</c>).</summary>
    Held = 3,
}
