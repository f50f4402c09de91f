namespace OrleansKafka.LeaseProtocol;

/// <summary>One silo's processors of one consumer group, as it registers them in the cluster's catalog.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.GroupRegistration")]
internal sealed record GroupRegistration
{
    /// <summary>The consumer group.</summary>
    [Id(0)] public required string Group { get; init; }

    /// <summary>The registering silo's identity (its endpoint).</summary>
    [Id(1)] public required string SiloId { get; init; }

    /// <summary>The silo's processors in this group: processor name and the topic it reads.</summary>
    [Id(2)] public required IReadOnlyDictionary<string, string> Processors { get; init; }

    /// <summary>This run of the silo (its address with generation): a restart on the same endpoint has another.</summary>
    [Id(3)] public required string Instance { get; init; }
}
