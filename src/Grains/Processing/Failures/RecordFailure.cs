namespace OrleansKafka.Processing.Failures;

/// <summary>Why a processor gave up on a record: the last error and how many attempts were made.</summary>
internal sealed record RecordFailure(Exception Error, int Attempts)
{
    /// <summary>The record can never succeed (it does not deserialize, or is too large): it was not retried.</summary>
    public bool Unprocessable => Error is UnprocessableRecordException;

    /// <summary>The error as status and logs show it: type and message.</summary>
    public string Describe() =>
        $"{(Cause(Error) is RestoredError restored ? restored.ShortTypeName : Cause(Error).GetType().Name)}: {Error.Message}";

    /// <summary>What made the record fail: the deserializer's error for a record that does not deserialize, else the error itself.</summary>
    public static Exception Cause(Exception error) =>
        error is UnprocessableRecordException { InnerException: { } inner } ? inner : error;

    /// <summary>The full type name of <see cref="Cause"/>; the original error's for one restored from a stored hold.</summary>
    public static string CauseTypeName(Exception error) =>
        Cause(error) is RestoredError restored ? restored.TypeName : Cause(error).GetType().FullName ?? Cause(error).GetType().Name;
}
