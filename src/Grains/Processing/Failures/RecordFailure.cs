namespace OrleansKafka.Processing.Failures;

/// <summary>Why a processor gave up on a record: the last error and how many attempts were made.</summary>
internal sealed record RecordFailure(Exception Error, int Attempts)
{
    /// <summary>The record can never succeed (it does not deserialize, or is too large): it was not retried.</summary>
    public bool Unprocessable => Error is UnprocessableRecordException;

    /// <summary>The error as status and logs show it: type and message.</summary>
    public string Describe() =>
        (Error is UnprocessableRecordException { InnerException: { } inner } ? inner : Error) switch
        {
            RestoredError restored => $"{restored.ShortTypeName}: {Error.Message}",
            var cause => $"{cause.GetType().Name}: {Error.Message}",
        };
}
