namespace OrleansKafka.Processing;

/// <summary>
/// A unit of several records (<see cref="ProcessorPipeline.ChainUnitLimit"/>) ended before its
/// last: its first <see cref="Completed"/> records completed, in order; the next one's attempt
/// failed with <see cref="Exception.InnerException"/>, or was not made (null: for example, its
/// grain's silo had just stood still). The caller runs the rest one by one.
/// </summary>
internal sealed class UnitIncompleteException(int completed, Exception? attempt)
    : Exception($"{completed} records of the unit completed; the next {(attempt is null ? "did not run" : $"failed: {attempt.Message}")}", attempt)
{
    public int Completed { get; } = completed;
}
