using Orleans.Streams;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Silo.Audit;

/// <summary>The chaos harness's stream subscriber (form <c>stream</c>): one per stream (record key) of the topic <see cref="AuditStreamGrain.Topic"/>.</summary>
public interface IAuditStreamGrain : IGrainWithStringKey;

/// <summary>
/// An implicit subscriber of the <see cref="AuditForms.StreamProvider"/> streams of the chaos
/// topic: writes a start and an end event around a millisecond of work for each record.
/// </summary>
[ImplicitStreamSubscription(Topic)]
internal sealed class AuditStreamGrain(AuditLog log) : Grain, IAuditStreamGrain
{
    /// <summary>The topic (stream namespace) subscribed to: the chaos harness's.</summary>
    public const string Topic = "chaos";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(AuditForms.StreamProvider).GetStream<KeyedRecord<byte[]>>(StreamId.Create(Topic, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync((record, _) => AuditAsync(record));
    }

    private Task AuditAsync(KeyedRecord<byte[]> record) =>
        log.AuditAsync(record.ConsumerGroup, record.Partition, record.Offset, record.Key, record.LeaseEpoch);
}
