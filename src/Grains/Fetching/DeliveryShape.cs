namespace OrleansKafka.Fetching;

/// <summary>
/// What a partition's deliveries are for its processor: at most <paramref name="MaxRecords"/>
/// records each, and <paramref name="Whole"/> when the processor keeps the delivery's records
/// (key-ordered and batch processors: they are copied into an array of their own) rather than
/// reading them one by one while they are delivered.
/// </summary>
internal readonly record struct DeliveryShape(int MaxRecords, bool Whole);
