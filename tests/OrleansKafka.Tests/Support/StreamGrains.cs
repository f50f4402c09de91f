using Orleans.Streams;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Tests.Support;

public interface IStreamRecorderGrain : IGrainWithStringKey;

/// <summary>
/// Implicitly subscribed to the <c>orders</c> namespace of the <c>kafka</c> stream provider:
/// records each item with its silo; waits at <see cref="KeyGate.Value"/>; throws on "poison".
/// </summary>
[ImplicitStreamSubscription(Namespace)]
[Orleans.Placement.RandomPlacement] // spread over the silos, so that deliveries cross silos
public sealed class StreamRecorderGrain(KeyGrainLog log, KeyGate gate, ILocalSiloDetails silo) : Grain, IStreamRecorderGrain
{
    public const string Namespace = "orders";
    public const string Provider = "kafka";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(Provider).GetStream<KeyedRecord<string>>(StreamId.Create(Namespace, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(OnNextAsync);
    }

    private async Task OnNextAsync(KeyedRecord<string> record, StreamSequenceToken? token)
    {
        if (record.Value == "poison")
        {
            throw new InvalidOperationException($"poison at offset {record.Offset}");
        }

        log.Started();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await (record.Value == KeyGate.Value ? gate.PassAsync() : Task.Delay(20));
            if (token?.SequenceNumber != record.Offset)
            {
                throw new InvalidOperationException($"token {token?.SequenceNumber} for offset {record.Offset}");
            }

            log.Add(record.Key, record.Offset, record.LeaseEpoch, silo.SiloAddress.ToString());
        }
        finally
        {
            log.Finished(record.LeaseEpoch, started);
        }
    }
}

public interface IStreamPublisherGrain : IGrainWithIntegerKey
{
    Task PublishAsync(string topic, string key, string value);
}

/// <summary>Produces through the <c>kafka</c> stream provider, the Orleans way.</summary>
public sealed class StreamPublisherGrain : Grain, IStreamPublisherGrain
{
    public Task PublishAsync(string topic, string key, string value) =>
        this.GetStreamProvider(StreamRecorderGrain.Provider).GetStream<string>(StreamId.Create(topic, key)).OnNextAsync(value);
}

public interface IPaymentRecorderGrain : IGrainWithStringKey;

/// <summary>Implicitly subscribed to a second namespace, <c>payments</c>, of the same <c>kafka</c> provider.</summary>
[ImplicitStreamSubscription(Namespace)]
public sealed class PaymentRecorderGrain(KeyGrainLog log) : Grain, IPaymentRecorderGrain
{
    public const string Namespace = "payments";

    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        this.GetStreamProvider(StreamRecorderGrain.Provider).GetStream<KeyedRecord<string>>(StreamId.Create(Namespace, this.GetPrimaryKeyString()))
            .SubscribeAsync((record, _) =>
            {
                log.Add($"{Namespace}:{record.Key}", record.Offset, record.LeaseEpoch, "-");
                return Task.CompletedTask;
            });
}
