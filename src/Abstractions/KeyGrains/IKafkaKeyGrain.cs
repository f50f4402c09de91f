namespace OrleansKafka.KeyGrains;

/// <summary>
/// A grain that receives the records of one key. Declare an interface that derives from this and
/// from <see cref="IGrainWithStringKey"/> (the key is the record key as text) or
/// <see cref="IGrainWithIntegerKey"/> (the key text must be a 64-bit integer), implement it, and
/// register it with <c>AddKeyGrain&lt;TGrain&gt;(name)</c>.
/// </summary>
/// <typeparam name="TValue">The value type (byte[], string, or a JSON-deserialized type).</typeparam>
/// <remarks>
/// The partition grain sends each record to the grain of its key, wherever Orleans places it:
/// records of one key in offset order, different keys concurrently (at most <c>MaxInFlight</c>
/// per partition), and offsets committed up to the highest contiguous completed one. Records
/// without a key go, in partition order, to the grain keyed <c>&lt;topic&gt;/&lt;partition&gt;</c>.
/// A call sent under a lease epoch older than one the grain activation has seen for the same
/// source partition is refused with <see cref="StaleLeaseEpochException"/>. Throwing follows the
/// processor's failure policy. For state that is exactly-once, derive from
/// <c>KafkaKeyGrain&lt;TValue, TState&gt;</c> (in OrleansKafka.Grains).
/// </remarks>
public interface IKafkaKeyGrain<TValue> : IGrain
{
    /// <summary>Processes one record of this grain's key; the record counts as done when the returned task completes.</summary>
    Task ProcessAsync(KeyedRecord<TValue> record);
}
