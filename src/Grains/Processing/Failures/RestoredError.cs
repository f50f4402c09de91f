namespace OrleansKafka.Processing.Failures;

/// <summary>
/// An error a processor gave up with, as it was stored with a held record and restored by a later
/// activation: its type, by name, and its message. Status and dead letters show it as the original.
/// </summary>
internal sealed class RestoredError(string typeName, string message) : Exception(message)
{
    /// <summary>The full type name of the original error.</summary>
    public string TypeName { get; } = typeName;

    /// <summary>The type's name without its namespace.</summary>
    public string ShortTypeName => TypeName[(TypeName.LastIndexOf('.') + 1)..];
}
