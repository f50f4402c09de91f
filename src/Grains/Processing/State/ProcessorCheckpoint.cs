namespace OrleansKafka.Processing.State;

/// <summary>
/// What a partition grain with an <see cref="IStatefulProcessor{TState}"/> stores: the processor's
/// state and the next offset to process after it, in one write, so they always agree.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.ProcessorCheckpoint")]
internal sealed class ProcessorCheckpoint
{
    /// <summary>The next offset to process; -1 when nothing is stored.</summary>
    [Id(0)] public long NextOffset { get; set; } = -1;

    /// <summary>The processor's state as JSON, covering every record before <see cref="NextOffset"/>.</summary>
    [Id(1)] public string? State { get; set; }
}
