namespace OrleansKafka.KeyGrains;

/// <summary>A Kafka record header, as a key grain receives it.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.KafkaHeader")]
public readonly record struct KafkaHeader([property: Id(0)] string Key, [property: Id(1)] byte[]? Value);
