namespace OrleansKafka.Silo.Audit;

/// <summary>Where the <c>audit</c> processor writes its events. Bound from the <c>Audit</c> section.</summary>
public sealed class AuditOptions
{
    /// <summary>
    /// The folder of the event files, one per silo process. No default: required once the
    /// <c>audit</c> processor is enabled under <c>Kafka:Processors</c>.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>
    /// Keys (comma-separated) whose records the <c>audit</c> processor fails on while a file
    /// <c>fail-&lt;key&gt;</c> exists in <see cref="Directory"/>: how the tests of
    /// <c>OnFailure = HoldKey</c> make one key fail for good, and then mend it. Default: none.
    /// </summary>
    public string? FailKeys { get; set; }
}
