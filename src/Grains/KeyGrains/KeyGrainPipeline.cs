using System.Globalization;
using Confluent.Kafka;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using Polly;

namespace OrleansKafka.KeyGrains;

/// <summary>Sends each record to the key grain of its key and waits for it to finish.</summary>
/// <remarks>
/// A call the cluster could not deliver (the grain's silo died or is unreachable, and Orleans has
/// not yet moved the grain) is not the record's failure: it is sent again, backing off up to 1 s,
/// until it is answered or the lease ends, and does not count toward the failure policy.
/// </remarks>
internal sealed class KeyGrainPipeline<TValue>(GrainReferences keyGrains, GrainReferences batches, Type grainInterface, bool integerKeys, RecordDecoder<TValue> values, string group, TimeProvider time) : ProcessorPipeline
{
    private readonly ResiliencePipeline _undelivered = UndeliveredCalls.Retry(time);
    private readonly KeyBatchSizer _sizer = new(time);

    public override int UnitLength(int remaining) => 1;

    public override int ChainUnitLimit => _sizer.Limit;

    public override string ChainOf(ConsumeResult<byte[], byte[]> record) => KeyedRecordFactory.ChainOf(record, integerKeys);

    /// <remarks><c>records[index..index+count)</c> are records of one key (see <see cref="ChainUnitLimit"/>).</remarks>
    public override async ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        var batch = new KeyedRecord[count];
        for (var i = 0; i < count; i++)
        {
            var result = records[index + i];
            if (integerKeys && result.Message.Key is null)
            {
                throw new UnprocessableRecordException($"{result.Topic}/{result.Partition.Value} offset {result.Offset.Value} has no key; {grainInterface.Name} has integer keys, so a record needs a key that is an integer.");
            }

            batch[i] = KeyedRecordFactory.Create(result, values, group, epoch, grainInterface.Name);
        }

        var grain = integerKeys ? keyGrains.IdOf(IntegerKey(batch[0].Key, records[index])) : keyGrains.IdOf(batch[0].Key);

        // The call is not cancelled at the grain when the lease ends; the partition just stops waiting for it.
        // Its time is measured answered or not: a call that timed out says the most about the grain.
        var startedAt = _sizer.Start();
        KeyedBatchResult outcome;
        try
        {
            if (count == 1)
            {
                await UndeliveredCalls.CallAsync(_undelivered, static call => call.Grain.ProcessAsync(call.Record), (Grain: (IKafkaKeyGrain<TValue>)keyGrains.Of(grain), Record: (KeyedRecord<TValue>)batch[0]), cancellationToken);
                return;
            }

            outcome = await UndeliveredCalls.CallAsync(_undelivered, static call => call.Grain.ProcessAsync(call.Records), (Grain: (IKeyGrainBatch)batches.Of(grain), Records: batch), cancellationToken);
        }
        finally
        {
            _sizer.Observe(startedAt, count);
        }

        if (outcome.Failure is { } failure)
        {
            throw new UnitIncompleteException(outcome.Completed, failure is SiloStalledException ? null : failure);
        }
    }

    private long IntegerKey(string key, ConsumeResult<byte[], byte[]> result) =>
        long.TryParse(key, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new UnprocessableRecordException($"The key of {result.Topic}/{result.Partition.Value} offset {result.Offset.Value} is '{RecordPreview.Of(result.Message.Key)}'; {grainInterface.Name} has integer keys, so expected a 64-bit integer.");
}
