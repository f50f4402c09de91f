namespace OrleansKafka.Configuration;

/// <summary>
/// What a partition does when the offset it should read from is no longer in Kafka (the topic was
/// deleted and created again, retention removed it, an unclean leader election truncated the log,
/// or someone committed an offset past the end).
/// </summary>
public enum OffsetResetAction
{
    /// <summary>The partition stops, skips and commits nothing, and shows <c>Holding</c> with both offsets until an operator seeks it.</summary>
    Hold = 0,

    /// <summary>The partition goes on from the oldest record Kafka holds: nothing Kafka still has is skipped; records may be processed again.</summary>
    Earliest = 1,

    /// <summary>The partition goes on from the end: every record Kafka holds for it now is skipped.</summary>
    Latest = 2,
}
