namespace OrleansKafka.Partitions;

/// <summary>Why a partition was granted to the silo that holds it.</summary>
public enum OwnershipReason
{
    /// <summary>Nobody held it before: the group's first grant of the partition (or the first one this lease grain knows of).</summary>
    Start = 0,

    /// <summary>Its previous owner gave it up to balance the group: a silo joined, or weights changed.</summary>
    Rebalance = 1,

    /// <summary>Its previous owner left the cluster gracefully and handed it over.</summary>
    Leave = 2,

    /// <summary>Its previous owner was declared dead, and its lease ran out.</summary>
    Death = 3,

    /// <summary>Its previous owner stopped renewing (a stall, a lost network), and its lease ran out.</summary>
    Expiry = 4,

    /// <summary>An operator moved it to this silo.</summary>
    Operator = 5,

    /// <summary>Kafka no longer held the offset it was to read from, and the processor's OnOffsetReset moved it to the oldest or newest record.</summary>
    OffsetReset = 6,
}
