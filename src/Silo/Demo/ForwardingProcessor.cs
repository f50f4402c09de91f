using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Demo;

/// <summary>
/// A sample processor that forwards each record to another topic unchanged, adding headers that
/// say where it came from: source topic, partition and offset, the processing silo (its endpoint) and the lease epoch.
/// </summary>
internal sealed class ForwardingProcessor(IProducer<byte[], byte[]> producer, IOptions<DemoOptions> options, ILocalSiloDetails silo) : IRecordProcessor<byte[], byte[]>
{
    private readonly byte[] _silo = Encoding.UTF8.GetBytes(silo.SiloAddress.Endpoint.ToString());

    public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        var context = record.Context;
        var headers = new Headers();
        // The trace goes on from this record's process span when it is recorded; otherwise the
        // record's own trace context is passed on as it came.
        var span = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
        foreach (var header in context.Headers ?? [])
        {
            if (span is null || header.Key is not ("traceparent" or "tracestate"))
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        if (span is not null)
        {
            headers.Add("traceparent", Encoding.ASCII.GetBytes(span.Id!));
            if (!string.IsNullOrEmpty(span.TraceStateString))
            {
                headers.Add("tracestate", Encoding.ASCII.GetBytes(span.TraceStateString));
            }
        }

        ProvenanceHeaders.Add(headers, context.Topic, context.Partition, context.Offset, _silo, context.LeaseEpoch);
        await producer.ProduceAsync(
            options.Value.ForwardTo,
            new Message<byte[], byte[]> { Key = record.Key, Value = record.Value, Headers = headers, Timestamp = context.Timestamp },
            cancellationToken);
    }
}
