using OrleansKafka.Processing;

namespace OrleansKafka.Configuration;

/// <summary>Where a processor reads from and how it commits; bound from <c>Kafka:Processors:&lt;name&gt;</c>.</summary>
public sealed class ProcessorOptions
{
    /// <summary>Default for <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan DefaultMaxRetryDelay = TimeSpan.FromSeconds(30);

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
}
