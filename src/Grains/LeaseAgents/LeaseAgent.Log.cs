using Microsoft.Extensions.Logging;

namespace OrleansKafka.LeaseAgents;

// The agent's source-generated log messages, in one place so their wording and levels can be
// reviewed together.
internal sealed partial class LeaseAgent
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer group {Group} started on this silo; topics: {Topics}")]
    private static partial void LogStarted(ILogger logger, string group, string topics);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey} acquired with lease epoch {Epoch}, starting at {Start}")]
    private static partial void LogAcquired(ILogger logger, string grainKey, long epoch, string start);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {GrainKey} (epoch {Epoch}) released after draining; committed offset {Offset}")]
    private static partial void LogRevoked(ILogger logger, string grainKey, long epoch, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease on partition {GrainKey} (epoch {Epoch}) expired before it was renewed; processing stopped without a commit")]
    private static partial void LogExpired(ILogger logger, string grainKey, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the committed offsets of {Count} partitions granted to this silo in consumer group {Group} failed; they are handed back and granted again")]
    private static partial void LogAcquireFailed(ILogger logger, Exception exception, string group, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Giving up partition {GrainKey} failed")]
    private static partial void LogRevokeFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease heartbeat of consumer group {Group} failed; leases are kept until they expire")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease renewal of consumer group {Group} failed (a heartbeat is slow to be answered); leases are kept until they expire")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telling partition grain {GrainKey} that this silo gave its lease up failed")]
    private static partial void LogReleaseNoticeFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "First lease heartbeat of consumer group {Group} failed; attempt {Attempt} follows")]
    private static partial void LogFirstHeartbeatRetry(ILogger logger, Exception? exception, string group, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Conflict} This silo gives up its partitions of the group and is taken back once the silos it disagrees with are gone.")]
    private static partial void LogRejected(ILogger logger, string conflict);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer group {Group}: the lease grain accepts this silo's topics again")]
    private static partial void LogAcceptedAgain(ILogger logger, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting the released leases of consumer group {Group} at shutdown failed")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing topic metadata of consumer group {Group} failed; keeping the last partition counts")]
    private static partial void LogMetadataFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(Level = LogLevel.Error, Message = "Starting to fetch partition {GrainKey} failed; it is handed back to be granted again")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string grainKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The feed of partition {GrainKey} (epoch {Epoch}) ended while its lease was current; giving the partition up so that it is granted again")]
    private static partial void LogFeedEnded(ILogger logger, string grainKey, long epoch);
}
