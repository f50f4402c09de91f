using System.Text;
using Confluent.Kafka;
using Orleans.Runtime;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using Polly;
using Polly.Retry;

namespace OrleansKafka.KeyGrains;

/// <summary>What key grains and Kafka streams share: the record a grain receives, and resending calls the cluster could not deliver.</summary>
internal static class KeyedRecordFactory
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The record with its value deserialized; its key text, or <c>&lt;topic&gt;/&lt;partition&gt;</c> without a key.</summary>
    /// <exception cref="UnprocessableRecordException">The value does not deserialize, or the key is not UTF-8 text.</exception>
    public static KeyedRecord<TValue> Create<TValue>(ConsumeResult<byte[], byte[]> result, RecordDecoder<TValue> values, string group, long epoch, string receiver)
    {
        var message = result.Message;
        return new KeyedRecord<TValue>
        {
            Key = KeyOf(result, receiver),
            Value = RecordFactory.Value(result, values),
            ConsumerGroup = group,
            Topic = result.Topic,
            Partition = result.Partition.Value,
            Offset = result.Offset.Value,
            Timestamp = message.Timestamp.UtcDateTime,
            Headers = message.Headers is { Count: > 0 } headers ? [.. headers.Select(h => new KafkaHeader(h.Key, h.GetValueBytes()))] : [],
            LeaseEpoch = epoch,
        };
    }

    /// <summary>
    /// The chain of a record sent to a grain: the grain's key, so that records that name one grain
    /// wait for each other (a keyless record shares the chain of the key <c>&lt;topic&gt;/&lt;partition&gt;</c>).
    /// A key that names no grain gets a chain of its own; it fails when it runs.
    /// </summary>
    public static string ChainOf(ConsumeResult<byte[], byte[]> result, bool integerKeys)
    {
        if (result.Message.Key is not { } key)
        {
            return $"{result.Topic}/{result.Partition.Value}";
        }

        try
        {
            var text = StrictUtf8.GetString(key);
            if (!integerKeys)
            {
                return text;
            }

            return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number)
                ? number.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : "\0" + text;
        }
        catch (DecoderFallbackException)
        {
            return "\0" + Convert.ToBase64String(key);
        }
    }

    private static string KeyOf(ConsumeResult<byte[], byte[]> result, string receiver)
    {
        if (result.Message.Key is not { } key)
        {
            return $"{result.Topic}/{result.Partition.Value}";
        }

        try
        {
            return StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException ex)
        {
            throw new UnprocessableRecordException($"The key of {result.Topic}/{result.Partition.Value} offset {result.Offset.Value} is not UTF-8 text, so it names no {receiver}.", ex);
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/>; when the cluster could not deliver it, sends it again through
    /// <paramref name="retry"/> (<see cref="UndeliveredCallRetry"/>). The first try goes straight
    /// to the grain: most calls are delivered, and the retry pipeline costs a closure per call.
    /// </summary>
    public static async Task CallAsync<TState>(ResiliencePipeline retry, Func<TState, Task> call, TState state, CancellationToken cancellationToken)
    {
        try
        {
            await call(state).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException)
        {
            await retry.ExecuteAsync(async (s, token) => await call(s).WaitAsync(token), state, cancellationToken);
        }
    }

    /// <summary>
    /// Sends a call again while the cluster cannot deliver it (the grain's silo died or is
    /// unreachable and Orleans has not yet moved the grain), backing off up to 1 s, until the
    /// token fires. Such a call is not the record's failure.
    /// </summary>
    public static ResiliencePipeline UndeliveredCallRetry(TimeProvider time) => new ResiliencePipelineBuilder { TimeProvider = time }
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
}
