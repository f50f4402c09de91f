using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>
/// The record a partition holds at, as its control state keeps it: the next activation of the
/// partition grain (after a deactivation, a move or a restart) holds at it too, and shows why,
/// until an operator decides.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.StoredHold")]
internal sealed class StoredHold
{
    [Id(0)] public long Offset { get; set; }

    /// <summary>The full type name of the error the processor gave up with.</summary>
    [Id(1)] public string ErrorType { get; set; } = string.Empty;

    [Id(2)] public string ErrorMessage { get; set; } = string.Empty;

    [Id(3)] public int Attempts { get; set; }

    [Id(4)] public DateTimeOffset Since { get; set; }

    /// <summary>A preview of the record's key, for people.</summary>
    [Id(5)] public string Key { get; set; } = string.Empty;

    /// <summary>A preview of the record's value, for people.</summary>
    [Id(6)] public string Value { get; set; } = string.Empty;

    public static StoredHold Of(HeldRecord held)
    {
        return new StoredHold
        {
            Offset = held.Offset,
            ErrorType = RecordFailure.CauseTypeName(held.Failure.Error),
            ErrorMessage = held.Failure.Error.Message,
            Attempts = held.Failure.Attempts,
            Since = held.Since,
            Key = held.Key,
            Value = held.Value,
        };
    }

    public HeldRecord ToHeld() => new(Offset, new RecordFailure(new RestoredError(ErrorType, ErrorMessage), Attempts), Since, Key, Value);
}
