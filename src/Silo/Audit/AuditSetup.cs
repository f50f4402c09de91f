using OrleansKafka.Configuration;
using OrleansKafka.Hosting;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// Registers the chaos harness's checking processors, one per processor form. Each is off unless
/// the harness configures it under <c>Kafka:Processors</c>, so appsettings.json need not mention
/// them (start-up refuses a registered processor with no entry).
/// </summary>
internal static class AuditSetup
{
    public static IKafkaProcessingBuilder AddAuditProcessors(this IKafkaProcessingBuilder kafka) => kafka
        .AddProcessor<AuditProcessor>(AuditForms.Processors["processor"], OffUnlessConfigured)
        .AddKeyGrain<IAuditKeyGrain>(AuditForms.Processors["keygrain"], OffUnlessConfigured)
        .AddKafkaStreams<byte[]>(AuditForms.StreamProvider, OffUnlessConfigured)
        .AddProcessor<AuditStatefulProcessor>(AuditForms.Processors["stateful"], OffUnlessConfigured)
        .AddProcessor<AuditBatchProcessor>(AuditForms.Processors["stateful-batch"], OffUnlessConfigured);

    /// <summary>Turns a processor off when neither its topic nor its group is configured.</summary>
    internal static void OffUnlessConfigured(ProcessorOptions processor)
    {
        if (processor.Topic is null && processor.Group is null)
        {
            processor.Enabled = false;
        }
    }
}
