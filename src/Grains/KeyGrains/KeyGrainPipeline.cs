using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Orleans.Runtime;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using Polly;
using Polly.Retry;

namespace OrleansKafka.KeyGrains;

/// <summary>Sends each record to the key grain of its key and waits for it to finish.</summary>
/// <remarks>
/// A call the cluster could not deliver (the grain's silo died or is unreachable, and Orleans has
/// not yet moved the grain) is not the record's failure: it is sent again, backing off up to 1 s,
/// until it is answered or the lease ends, and does not count toward the failure policy.
/// </remarks>
internal sealed class KeyGrainPipeline<TValue>(IGrainFactory grains, Type grainInterface, bool integerKeys, RecordDecoder<TValue> values, string group, TimeProvider time) : ProcessorPipeline
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ResiliencePipeline _undelivered = new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<SiloUnavailableException>().Handle<OrleansMessageRejectionException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(50),
            MaxDelay = TimeSpan.FromSeconds(1),
        })
        .Build();

    public override int UnitLength(int remaining) => 1;

    public override async ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        var result = records[index];
        var record = Create(result, epoch);
        var grain = integerKeys ? grains.GetGrain(grainInterface, IntegerKey(record.Key, result)) : grains.GetGrain(grainInterface, record.Key);

        // The call is not cancelled at the grain when the lease ends; the partition just stops waiting for it.
        var target = (IKafkaKeyGrain<TValue>)grain;
        await _undelivered.ExecuteAsync(async token => await target.ProcessAsync(record).WaitAsync(token), cancellationToken);
    }

    private KeyedRecord<TValue> Create(ConsumeResult<byte[], byte[]> result, long epoch)
    {
        var message = result.Message;
        var value = RecordFactory.Value(result, values);
        return new KeyedRecord<TValue>
        {
            Key = KeyOf(result),
            Value = value,
            ConsumerGroup = group,
            Topic = result.Topic,
            Partition = result.Partition.Value,
            Offset = result.Offset.Value,
            Timestamp = message.Timestamp.UtcDateTime,
            Headers = message.Headers is { Count: > 0 } headers ? [.. headers.Select(h => new KafkaHeader(h.Key, h.GetValueBytes()))] : [],
            LeaseEpoch = epoch,
        };
    }

    private string KeyOf(ConsumeResult<byte[], byte[]> result)
    {
        if (result.Message.Key is not { } key)
        {
            return integerKeys
                ? throw new UnprocessableRecordException($"{result.Topic}/{result.Partition.Value} offset {result.Offset.Value} has no key; {grainInterface.Name} has integer keys, so a record needs a key that is an integer.")
                : $"{result.Topic}/{result.Partition.Value}";
        }

        try
        {
            return StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException ex)
        {
            throw new UnprocessableRecordException($"The key of {result.Topic}/{result.Partition.Value} offset {result.Offset.Value} is not UTF-8 text, so it names no {grainInterface.Name}.", ex);
        }
    }

    private long IntegerKey(string key, ConsumeResult<byte[], byte[]> result) =>
        long.TryParse(key, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new UnprocessableRecordException($"The key of {result.Topic}/{result.Partition.Value} offset {result.Offset.Value} is '{RecordPreview.Of(result.Message.Key)}'; {grainInterface.Name} has integer keys, so expected a 64-bit integer.");
}
