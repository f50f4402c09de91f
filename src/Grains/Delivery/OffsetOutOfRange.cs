namespace OrleansKafka.Delivery;

/// <summary>
/// The consumer could not read a partition at <see cref="Offset"/>: Kafka does not hold that
/// offset (any more, or yet), and fetching the partition stopped there. <see cref="Reason"/> is
/// librdkafka's text.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.OffsetOutOfRange")]
internal sealed record OffsetOutOfRange([property: Id(0)] long Offset, [property: Id(1)] string Reason);
