namespace OrleansKafka.Partitions;

/// <summary>Places a partition grain on the silo that holds the lease on its partition.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class PartitionOwnerPlacement : PlacementStrategy
{
    internal static readonly PartitionOwnerPlacement Instance = new();
}
