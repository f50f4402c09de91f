namespace OrleansKafka.KeyGrains;

/// <summary>
/// A key grain refused a record sent under an older lease epoch than one it has seen for the same
/// source partition: the sender no longer owns the partition, and its record must not overtake the
/// new owner's. The sender stops; the record is not retried and no failure policy applies.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.StaleLeaseEpochException")]
public sealed class StaleLeaseEpochException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StaleLeaseEpochException(string message)
        : base(message)
    {
    }
}
