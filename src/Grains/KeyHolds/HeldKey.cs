using Confluent.Kafka;
using OrleansKafka.Partitions;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.KeyHolds;

/// <summary>
/// One key a partition holds (<see cref="Configuration.FailureAction.HoldKey"/>): the record its
/// processor gave up on, why and since when, and the key's later records waiting behind it in
/// offset order. After a restart <see cref="Waiting"/> is empty until the records are fetched again.
/// </summary>
internal sealed class HeldKey(string chain)
{
    /// <summary>The key as the run orders records by it (the chain).</summary>
    public string Chain { get; } = chain;

    /// <summary>The offset of the record the key holds at: its records from here on wait.</summary>
    public long FirstOffset { get; set; }

    public RecordFailure Failure { get; set; } = null!;

    public DateTimeOffset Since { get; set; }

    /// <summary>A preview of the key, for people (text, or hex).</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>A preview of the held record's value, for people.</summary>
    public string Value { get; set; } = string.Empty;

    /// <summary>The held record first, then the key's later records, in offset order.</summary>
    public List<ConsumeResult<byte[], byte[]>> Waiting { get; } = [];

    /// <summary>An operator's decision about the held record (or an automatic retry), not yet carried out.</summary>
    public HoldDecisionTaken? Decision { get; set; }

    /// <summary>
    /// When the held record is tried again by itself (its processor's retries, with backoff, while
    /// the other keys go on); null once its attempts are used up and it waits for an operator.
    /// </summary>
    public DateTimeOffset? RetryAt { get; set; }

    /// <summary>Whether the record at <paramref name="offset"/> waits here already (a delivery sent again).</summary>
    public bool HasWaiting(long offset) => Waiting.Count > 0 && offset <= Waiting[^1].Offset.Value;
}

/// <summary>An operator's decision about a held key's record, and who took it.</summary>
internal sealed record HoldDecisionTaken(HoldDecision Decision, string Silo, DateTimeOffset At)
{
    /// <summary>A retry of the processor's own (<see cref="HeldKey.RetryAt"/>), not an operator's.</summary>
    public bool Automatic { get; init; }
}
