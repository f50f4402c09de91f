namespace OrleansKafka.Processing;

/// <summary>
/// A processor (record or batch) whose state is exactly-once: the partition grain stores
/// <see cref="State"/> together with the offset it covers, in one grain-storage write guarded by
/// its ETag, and a new owner of the partition starts from that state and that offset.
/// </summary>
/// <typeparam name="TState">The state; stored as JSON (System.Text.Json, web defaults).</typeparam>
/// <remarks>
/// <para>
/// Before the first record of a lease the partition grain sets <see cref="State"/> to the stored
/// state (a new <typeparamref name="TState"/> when none is stored); after each delivery it stores
/// it with the next offset, then commits that offset to Kafka so that Kafka tooling shows the lag.
/// So a record's effect on the state is neither lost nor applied twice after a crash, a kill, a
/// freeze or a move: a stale owner's write fails on the ETag, and it stops.
/// </para>
/// <para>
/// A record processor changes the state only once a record has succeeded (after the last await
/// of the record): a record that throws is run again on the state as it left it. A batch processor
/// may change it as it goes: a batch that throws gets the state back as it was before the batch,
/// and its records then run one at a time. Effects outside the state (a produce, an HTTP call)
/// stay at-least-once. Processing runs in partition order; <c>Order = Key</c> is refused.
/// </para>
/// </remarks>
public interface IStatefulProcessor<TState>
    where TState : class, new()
{
    /// <summary>The state; set by the partition grain before the first record of each lease.</summary>
    TState State { get; set; }
}
