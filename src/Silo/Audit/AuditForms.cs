namespace OrleansKafka.Silo.Audit;

/// <summary>
/// The checking processors' names, by the processor form the chaos harness's <c>--form</c>
/// names. Compiled into the harness too (bench/OrleansKafka.Bench.csproj links this file), so
/// that both sides use one list.
/// </summary>
internal static class AuditForms
{
    /// <summary>The stream provider of the <c>stream</c> form.</summary>
    public const string StreamProvider = "audit-streams";

    /// <summary>The processor names, by form.</summary>
    public static readonly IReadOnlyDictionary<string, string> Processors = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["processor"] = "audit",
        ["keygrain"] = "audit-keys",
        ["stream"] = StreamProvider,
        ["stateful"] = "audit-state",
        ["stateful-batch"] = "audit-batch",
    };
}
