using Orleans.Placement;

namespace OrleansKafka.Partitions;

/// <summary>Marks a grain class to be placed by <see cref="PartitionOwnerPlacementDirector"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class PartitionOwnerPlacementAttribute() : PlacementAttribute(PartitionOwnerPlacement.Instance);
