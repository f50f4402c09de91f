using OrleansKafka.Processing.Failures;

namespace OrleansKafka.KeyHolds;

/// <summary>
/// A held key as the partition's control state keeps it: the next activation of the partition
/// grain (after a deactivation, a move or a restart) holds the key at the same record, and its
/// later records wait again as they are fetched, until an operator decides.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.StoredKeyHold")]
internal sealed class StoredKeyHold
{
    [Id(0)] public string Chain { get; set; } = string.Empty;

    [Id(1)] public long FirstOffset { get; set; }

    /// <summary>The full type name of the error the processor gave up with.</summary>
    [Id(2)] public string ErrorType { get; set; } = string.Empty;

    [Id(3)] public string ErrorMessage { get; set; } = string.Empty;

    [Id(4)] public int Attempts { get; set; }

    [Id(5)] public DateTimeOffset Since { get; set; }

    [Id(6)] public string Key { get; set; } = string.Empty;

    [Id(7)] public string Value { get; set; } = string.Empty;

    /// <summary>Records that waited when this was written (the held one included).</summary>
    [Id(8)] public int Waiting { get; set; }

    /// <summary>When the held record is tried again by itself; null when it waits for an operator.</summary>
    [Id(9)] public DateTimeOffset? RetryAt { get; set; }

    public static StoredKeyHold Of(HeldKey key) => new()
    {
        Chain = key.Chain,
        FirstOffset = key.FirstOffset,
        ErrorType = RecordFailure.CauseTypeName(key.Failure.Error),
        ErrorMessage = key.Failure.Error.Message,
        Attempts = key.Failure.Attempts,
        Since = key.Since,
        Key = key.Key,
        Value = key.Value,
        Waiting = key.Waiting.Count,
        RetryAt = key.RetryAt,
    };

    public HeldKey ToHeld() => new(Chain)
    {
        FirstOffset = FirstOffset,
        Failure = new RecordFailure(new RestoredError(ErrorType, ErrorMessage), Attempts),
        Since = Since,
        Key = Key,
        Value = Value,
        RetryAt = RetryAt,
    };
}
