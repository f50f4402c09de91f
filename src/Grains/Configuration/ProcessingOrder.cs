namespace OrleansKafka.Configuration;

/// <summary>Which records of a partition must be processed one after another.</summary>
public enum ProcessingOrder
{
    /// <summary>Every record of a partition in offset order, one at a time.</summary>
    Partition = 0,

    /// <summary>
    /// Records of one key in offset order; records of different keys concurrently, at most
    /// <see cref="ProcessorOptions.MaxInFlight"/> per partition. Records without a key are in
    /// order among themselves. Offsets are committed up to the highest contiguous completed one.
    /// Record processors only.
    /// </summary>
    Key = 1,
}
