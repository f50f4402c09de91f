using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Partitions;

/// <summary>The record a partition holds at, why, since when, and a preview of its key and value for people.</summary>
internal sealed record HeldRecord(long Offset, RecordFailure Failure, DateTimeOffset Since, string Key, string Value);
