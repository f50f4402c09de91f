namespace OrleansKafka.Processing;

/// <summary>When a partition commits its offset relative to processing.</summary>
public enum DeliveryGuarantee
{
    /// <summary>Commit after processing: a crash can repeat records, never lose them. The default.</summary>
    AtLeastOnce = 0,

    /// <summary>Commit before processing: a crash can lose records, never repeat them.</summary>
    AtMostOnce = 1,
}
