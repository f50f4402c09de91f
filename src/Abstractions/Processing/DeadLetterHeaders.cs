namespace OrleansKafka.Processing;

/// <summary>
/// The headers a silo adds to a record it writes to a dead-letter topic (the record's own key,
/// value, timestamp and headers are kept), for tools and consumers of that topic. Values are UTF-8 text.
/// </summary>
public static class DeadLetterHeaders
{
    /// <summary>The prefix of every header below; a record sent back from the dead-letter topic drops them.</summary>
    public const string Prefix = "x-dlq-";

    /// <summary>The full name of the exception type the processor gave up with.</summary>
    public const string ErrorType = "x-dlq-error-type";

    /// <summary>That exception's message.</summary>
    public const string ErrorMessage = "x-dlq-error-message";

    /// <summary>The topic the record was read from.</summary>
    public const string SourceTopic = "x-dlq-source-topic";

    /// <summary>Its partition, a decimal number.</summary>
    public const string SourcePartition = "x-dlq-source-partition";

    /// <summary>Its offset, a decimal number.</summary>
    public const string SourceOffset = "x-dlq-source-offset";

    /// <summary>How many times the processor ran on it, a decimal number.</summary>
    public const string Attempts = "x-dlq-attempts";

    /// <summary>The consumer group whose processor gave up on it.</summary>
    public const string ConsumerGroup = "x-dlq-consumer-group";
}
