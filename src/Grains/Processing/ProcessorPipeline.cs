using Confluent.Kafka;
using OrleansKafka.Processing.State;

namespace OrleansKafka.Processing;

/// <summary>Runs one processor instance over the records of one partition.</summary>
internal abstract class ProcessorPipeline
{
    /// <summary>The processor's exactly-once state, when it is an <see cref="IStatefulProcessor{TState}"/>.</summary>
    public ProcessorStateAccess? State { get; set; }

    /// <summary>
    /// In key order, the chain a record waits in: records of one chain run one after another. By
    /// default the key's bytes, and one chain for records without a key.
    /// </summary>
    public virtual string ChainOf(ConsumeResult<byte[], byte[]> record) =>
        record.Message.Key is { } key ? Convert.ToBase64String(key) : "-"; // Base64 never contains '-'

    /// <summary>
    /// In key order, how many records of one chain may go to the processor as one unit (a
    /// non-contiguous run of the delivery's records): 1 unless the processor sends them on in one
    /// call (key grains, streams). A unit that fails reports how many of its records completed
    /// (<see cref="UnitIncompleteException"/>); the rest run one by one.
    /// </summary>
    public virtual int ChainUnitLimit => 1;

    /// <summary>How many of the <paramref name="remaining"/> records one call processes: one, or all of them for batch processors.</summary>
    public abstract int UnitLength(int remaining);

    /// <summary>Processes <c>records[index..index+count)</c>; throws when the processor fails.</summary>
    public abstract ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken);
}
