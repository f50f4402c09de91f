using Microsoft.Extensions.Logging;
using OrleansKafka.Committing;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// The partition counts of a group's topics, as each heartbeat reports them: read at start (a
/// missing topic fails the start), then again now and then in the background, so that partitions
/// added to a topic are leased too and a slow broker never delays a heartbeat.
/// </summary>
internal sealed partial class TopicMetadata(string group, IReadOnlyList<string> topics, GroupControlClient control, TimeSpan refreshInterval, TimeSpan timeout, TimeProvider time, ILogger logger)
{
    private Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private Dictionary<string, string?[]> _leaderZones = new(StringComparer.Ordinal);
    private long _readAt;
    private Task _refresh = Task.CompletedTask;

    /// <summary>Partitions per topic, as last read.</summary>
    public Dictionary<string, int> Counts => Volatile.Read(ref _counts);

    /// <summary>The zone (rack) of each partition's leader broker per topic, as last read; empty when the brokers have none.</summary>
    public Dictionary<string, string?[]> LeaderZones => Volatile.Read(ref _leaderZones);

    /// <summary>The background read under way; completed when none is.</summary>
    public Task Refreshing => _refresh;

    /// <summary>Whether <paramref name="topic"/> is one of the group's topics on this silo.</summary>
    public bool Contains(string topic) => Counts.ContainsKey(topic);

    /// <summary>Reads the counts; fails when a topic is missing or Kafka does not answer within the timeout.</summary>
    public async Task ReadAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _counts, await control.PartitionCountsAsync(topics, timeout).WaitAsync(cancellationToken));
        _readAt = time.GetTimestamp();

        // In the background: the zones are a preference, and a start does not wait for them.
        _refresh = Task.Run(ReadLeaderZonesAsync, CancellationToken.None);
    }

    /// <summary>Starts a background read when the last is older than the refresh interval and none runs.</summary>
    public void RefreshIfDue(long now)
    {
        if (time.GetElapsedTime(_readAt, now) < refreshInterval || !_refresh.IsCompleted)
        {
            return;
        }

        _readAt = now;
        _refresh = Task.Run(async () =>
        {
            try
            {
                Volatile.Write(ref _counts, await control.PartitionCountsAsync(topics, timeout));
            }
            catch (Exception ex)
            {
                LogRefreshFailed(logger, ex, group);
            }

            await ReadLeaderZonesAsync();
        });
    }

    /// <summary>Reads the leaders' zones; on failure keeps the last (placement by zone is a preference, never a condition).</summary>
    private async Task ReadLeaderZonesAsync()
    {
        try
        {
            Volatile.Write(ref _leaderZones, await control.LeaderRacksAsync(topics, timeout));
        }
        catch (Exception ex)
        {
            LogZonesFailed(logger, ex, group);
        }
    }

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Reading the racks of the partition leaders of consumer group {Group} failed; keeping the last")]
    private static partial void LogZonesFailed(ILogger logger, Exception exception, string group);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Refreshing topic metadata of consumer group {Group} failed; keeping the last partition counts")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string group);
}
