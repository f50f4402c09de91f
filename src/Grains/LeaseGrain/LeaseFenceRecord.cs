namespace OrleansKafka.LeaseGrain;

/// <summary>
/// A consumer group's lease-grain fence as stored: which activation holds it (each activation
/// takes the next generation) and how often it renewed. What guards it is the store's ETag.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.LeaseFenceRecord")]
internal sealed class LeaseFenceRecord
{
    [Id(0)]
    public long Generation { get; set; }

    [Id(1)]
    public long Renewals { get; set; }
}
