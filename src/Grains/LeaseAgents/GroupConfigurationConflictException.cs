namespace OrleansKafka.LeaseAgents;

/// <summary>
/// This silo's configuration of a consumer group disagrees with the live silos': other topics
/// for the group, or a processor in another group or on another topic.
/// </summary>
internal sealed class GroupConfigurationConflictException(string message) : Exception(message);
