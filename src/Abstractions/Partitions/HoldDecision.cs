namespace OrleansKafka.Partitions;

/// <summary>An operator's decision about the record a partition is holding.</summary>
public enum HoldDecision
{
    /// <summary>Run the processor on the record again (with the processor's retries); it holds again if it still fails.</summary>
    Retry = 0,

    /// <summary>Leave the record unprocessed and go on; the offset is committed past it.</summary>
    Skip = 1,

    /// <summary>Write the record to the processor's dead-letter topic and go on; the offset is committed past it.</summary>
    DeadLetter = 2,
}
