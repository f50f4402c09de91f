namespace OrleansKafka.Delivery;

/// <summary>A list of records that can tell a record's offset without building the record.</summary>
internal interface IOffsetIndexed
{
    /// <summary>The offset of record <paramref name="index"/>.</summary>
    long OffsetAt(int index);
}
