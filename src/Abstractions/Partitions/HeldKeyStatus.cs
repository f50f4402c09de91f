namespace OrleansKafka.Partitions;

/// <summary>One key a partition holds (<c>OnFailure = HoldKey</c>): where, why, since when, and how many of its records wait.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.HeldKeyStatus")]
public sealed record HeldKeyStatus
{
    /// <summary>A preview of the key (text, or hex when it is not text).</summary>
    [Id(0)] public required string Key { get; init; }

    /// <summary>The offset of the record the key holds at; operators name the held key by it.</summary>
    [Id(1)] public required long Offset { get; init; }

    /// <summary>The key's records that wait, the held one included (0 after a restart until they are fetched again).</summary>
    [Id(2)] public int Waiting { get; init; }

    /// <summary>The error the processor gave up with.</summary>
    [Id(3)] public string? Error { get; init; }

    /// <summary>How often the processor ran the held record.</summary>
    [Id(4)] public int Attempts { get; init; }

    /// <summary>Since when the key holds.</summary>
    [Id(5)] public DateTimeOffset Since { get; init; }

    /// <summary>A preview of the held record's value.</summary>
    [Id(6)] public string? Value { get; init; }

    /// <summary>Whether an operator's decision about it is being carried out.</summary>
    [Id(7)] public bool Decided { get; init; }

    /// <summary>When the held record is tried again by itself (the processor's retries, while the other keys go on); null once it waits for an operator.</summary>
    [Id(8)] public DateTimeOffset? RetryAt { get; init; }
}
