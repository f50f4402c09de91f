using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Silo.Demo;

/// <summary>The demo's implicit stream subscriber: one grain per stream (the record key) of <c>demo-orders</c>.</summary>
public interface IStreamForwarderGrain : IGrainWithStringKey;

/// <summary>
/// Receives the records of its stream of <c>demo-orders</c> through the <c>kafka</c> stream
/// provider, in offset order, and forwards each to <see cref="DemoOptions.StreamedTo"/> with the
/// same provenance headers as the forwarder processor.
/// </summary>
[ImplicitStreamSubscription(DemoOptions.DefaultTopic)]
internal sealed class StreamForwarderGrain(IProducer<byte[], byte[]> producer, IOptions<DemoOptions> options, ILocalSiloDetails silo) : Grain, IStreamForwarderGrain
{
    /// <summary>The stream provider's name, as the silo host registers it.</summary>
    public const string Provider = "kafka";

    private readonly byte[] _silo = Encoding.UTF8.GetBytes(silo.SiloAddress.Endpoint.ToString());

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(Provider).GetStream<KeyedRecord<byte[]>>(StreamId.Create(DemoOptions.DefaultTopic, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync((record, _) => ForwardAsync(record));
    }

    private async Task ForwardAsync(KeyedRecord<byte[]> record)
    {
        var headers = new Headers();
        foreach (var header in record.Headers)
        {
            headers.Add(header.Key, header.Value);
        }

        ProvenanceHeaders.Add(headers, record.Topic, record.Partition, record.Offset, _silo, record.LeaseEpoch);
        await producer.ProduceAsync(
            options.Value.StreamedTo,
            new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(record.Key), Value = record.Value!, Headers = headers, Timestamp = new Timestamp(record.Timestamp) });
    }
}
