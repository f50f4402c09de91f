namespace OrleansKafka.Tests.Support;

/// <summary>Silo host settings that run the host's <c>audit</c> processor alone: the demo's processors off, its events in a folder.</summary>
internal static class AuditOnly
{
    public static Dictionary<string, string> Settings(string topic, string group, string directory) => new(StringComparer.Ordinal)
    {
        ["Kafka__Processors__audit__Topic"] = topic,
        ["Kafka__Processors__audit__Group"] = group,
        ["Kafka__Processors__order-totals__Enabled"] = "false",
        ["Kafka__Processors__customer-totals__Enabled"] = "false",
        ["Kafka__Processors__kafka__Enabled"] = "false",
        ["Kafka__Processors__forwarder__Enabled"] = "false",
        ["Audit__Directory"] = directory,
    };
}
