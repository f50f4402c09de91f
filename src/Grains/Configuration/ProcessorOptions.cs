using OrleansKafka.Processing;

namespace OrleansKafka.Configuration;

/// <summary>Where a processor reads from and how it commits; bound from <c>Kafka:Processors:&lt;name&gt;</c>.</summary>
public sealed class ProcessorOptions
{
    /// <summary>Default for <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan DefaultMaxRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>Default for <see cref="MaxInFlight"/>.</summary>
    public const int DefaultMaxInFlight = 100;

    /// <summary>The default of <see cref="MaxWaitingRecords"/>.</summary>
    public const int DefaultMaxWaitingRecords = 10_000;

    /// <summary>Default for <see cref="MaxAttempts"/>.</summary>
    public const int DefaultMaxAttempts = 5;

    /// <summary>Default for <see cref="FirstRetryDelay"/>.</summary>
    public static readonly TimeSpan DefaultFirstRetryDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The topic to process. Required.</summary>
    public string? Topic { get; set; }

    /// <summary>The consumer group; offsets are committed under it. Required.</summary>
    public string? Group { get; set; }

    /// <summary>When offsets are committed. Default at-least-once.</summary>
    public DeliveryGuarantee Delivery { get; set; } = DeliveryGuarantee.AtLeastOnce;

    /// <summary>False turns the processor off without removing its registration. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The delay before the first retry of a failed record; later delays double. Default 100 ms.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = DefaultFirstRetryDelay;

    /// <summary>The longest delay between retries of a failed record. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = DefaultMaxRetryDelay;

    /// <summary>How often the processor is run on a failing record before <see cref="OnFailure"/> applies, the first run included. Default 5.</summary>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>
    /// What happens to a record the processor keeps failing on, or that cannot succeed (it does
    /// not deserialize, or exceeds <see cref="MaxRecordBytes"/>). Default <see cref="FailureAction.Hold"/>:
    /// nothing is skipped or sent elsewhere unless configured, and an operator decides.
    /// </summary>
    public FailureAction OnFailure { get; set; } = FailureAction.Hold;

    /// <summary>
    /// What happens when the offset a partition should read from is no longer in Kafka. Default
    /// <see cref="OffsetResetAction.Hold"/>: nothing is skipped and nothing processed again unless
    /// configured, and an operator decides by seeking the partition.
    /// </summary>
    public OffsetResetAction OnOffsetReset { get; set; } = OffsetResetAction.Hold;

    /// <summary>The dead-letter topic for <see cref="FailureAction.DeadLetter"/>. Default <c>&lt;Topic&gt;.dlq</c>.</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>The most bytes of key and value a record may have; larger ones go to <see cref="OnFailure"/> without being processed. Default 0: no limit.</summary>
    public int MaxRecordBytes { get; set; }

    /// <summary>Which records must be processed one after another. Default <see cref="ProcessingOrder.Partition"/>.</summary>
    public ProcessingOrder Order { get; set; } = ProcessingOrder.Partition;

    /// <summary>With <see cref="ProcessingOrder.Key"/>: the most records of one partition in processing at once. Default 100.</summary>
    public int MaxInFlight { get; set; } = DefaultMaxInFlight;

    /// <summary>
    /// With <see cref="FailureAction.HoldKey"/>: the most records of one partition that wait behind
    /// held keys (the held ones included). Past it the partition stops taking records, and says
    /// so in its status, until a held key is retried, skipped or dead-lettered; nothing is dropped.
    /// They are kept in the silo's memory, outside <c>SiloBufferBytes</c>. Default 10,000.
    /// </summary>
    public int MaxWaitingRecords { get; set; } = DefaultMaxWaitingRecords;

    /// <summary>
    /// A role the silo must have (<see cref="KafkaProcessingOptions.Roles"/>) to process this
    /// processor's partitions. Default none: every silo may. A silo without it takes part in the
    /// group but is never granted a partition; with no live silo that has it, the partitions wait
    /// (status says so).
    /// </summary>
    public string? Role { get; set; }

    /// <summary>The dead-letter topic in effect: <see cref="DeadLetterTopic"/>, or <c>&lt;Topic&gt;.dlq</c>.</summary>
    public string EffectiveDeadLetterTopic => string.IsNullOrWhiteSpace(DeadLetterTopic) ? $"{Topic}.dlq" : DeadLetterTopic;
}
