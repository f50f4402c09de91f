namespace OrleansKafka.Configuration;

/// <summary>What happens to a record once its processor has failed on it <see cref="ProcessorOptions.MaxAttempts"/> times, or at once when it cannot succeed (it does not deserialize, or is too large).</summary>
public enum FailureAction
{
    /// <summary>The partition stops at the record and commits nothing past it until an operator retries, skips or dead-letters it.</summary>
    Hold = 0,

    /// <summary>The record is written to the dead-letter topic (acknowledged before the offset moves past it), and processing goes on.</summary>
    DeadLetter = 1,

    /// <summary>The record is logged and counted as skipped, and processing goes on.</summary>
    Skip = 2,

    /// <summary>
    /// Only the record's key stops: its later records wait behind it, in order, while the
    /// partition's other keys go on, until an operator retries, skips or dead-letters the record.
    /// For key-ordered processing only (<see cref="ProcessingOrder.Key"/>, key grains, streams).
    /// The commit stays below the held record, and at most <see cref="ProcessorOptions.MaxWaitingRecords"/>
    /// records wait per partition: past that the partition stops taking records until a key is released.
    /// </summary>
    HoldKey = 3,
}
