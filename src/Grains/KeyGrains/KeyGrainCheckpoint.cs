namespace OrleansKafka.KeyGrains;

/// <summary>What a <see cref="KafkaKeyGrain{TValue, TState}"/> stores: its state and, per source partition, the last offset applied to it.</summary>
[GenerateSerializer, Alias("OrleansKafka.KeyGrainCheckpoint")]
internal sealed class KeyGrainCheckpoint
{
    /// <summary>The state as JSON; null until the first record is stored.</summary>
    [Id(0)] public string? State { get; set; }

    /// <summary>The highest offset applied to <see cref="State"/>, by source (<c>&lt;group&gt;/&lt;topic&gt;/&lt;partition&gt;</c>).</summary>
    [Id(1)] public Dictionary<string, long> Applied { get; set; } = new(StringComparer.Ordinal);
}
