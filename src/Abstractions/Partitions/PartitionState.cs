namespace OrleansKafka.Partitions;

/// <summary>What a partition grain is doing.</summary>
public enum PartitionState
{
    /// <summary>Owned by this silo and waiting for records.</summary>
    Idle = 0,

    /// <summary>Owned by this silo and running the processor.</summary>
    Processing = 1,

    /// <summary>The processor failed on the in-flight record; it is retried with backoff and stays uncommitted.</summary>
    Retrying = 2,

    /// <summary>This activation's silo holds no current lease for the partition; it processes nothing and commits nothing.</summary>
    NotOwner = 3,

    /// <summary>The partition stopped at a record its processor gave up on, and waits for an operator to retry, skip or dead-letter it.</summary>
    Holding = 4,

    /// <summary>An operator paused the partition: it processes and commits nothing until resumed, also after a move or a restart.</summary>
    Paused = 5,
}
