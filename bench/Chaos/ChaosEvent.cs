namespace OrleansKafka.Bench.Chaos;

/// <summary>One line of an audit event file written by the silo host's <c>audit</c> processor.</summary>
/// <param name="IsStart">True for a start (<c>S</c>) event, false for an end (<c>E</c>) event.</param>
/// <param name="Group">The consumer group the record was processed for.</param>
/// <param name="Partition">The record's partition.</param>
/// <param name="Offset">The record's offset.</param>
/// <param name="Key">The record's key as text, <c>-</c> when it had none.</param>
/// <param name="Silo">The endpoint of the silo that processed it.</param>
/// <param name="Epoch">The lease epoch it was processed under.</param>
/// <param name="Timestamp">When, in <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> ticks (one clock for every process of the machine).</param>
/// <param name="State">For an end event of a stateful form, the state after the record: <c>&lt;count&gt;:&lt;offset sum&gt;</c>; otherwise null.</param>
internal readonly record struct ChaosEvent(bool IsStart, string Group, int Partition, long Offset, string Key, string Silo, long Epoch, long Timestamp, string? State = null);
