namespace OrleansKafka.Leasing;

/// <summary>This silo's topics for a consumer group differ from those of the group's other live silos.</summary>
public sealed class GroupConfigurationConflictException(string message) : Exception(message);
