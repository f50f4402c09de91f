using Microsoft.Extensions.Logging;

namespace OrleansKafka.LeaseAgents;

/// <summary>
/// The weight a silo's heartbeats report while it joins: 0 (a standby, which the lease grain
/// gives partitions only when no other silo can take them) until the silo has started and its last
/// <see cref="PunctualBeats"/> heartbeats were answered within a quarter of a lease, or the start-up
/// timeout has passed since it started; the configured weight from then on.
/// </summary>
/// <remarks>
/// A silo that joined a running cluster took partitions as soon as its first heartbeat was
/// answered, while its process was still starting: compiling its code, starting its other consumer
/// groups and its web host on cores the running silos share. Its first records came seconds after
/// it acquired the partitions, and leases it renewed late expired and moved again
/// (docs/benchmarks.md, handoff). The other silos keep the partitions meanwhile. A silo alone (or
/// among standbys) is given partitions at once all the same, and then keeps them. Used under the
/// agent's beat lock, except <see cref="MarkReady"/>.
/// </remarks>
internal sealed partial class JoinReadiness(string group, int weight, TimeSpan startupTimeout, TimeProvider time, ILogger logger)
{
    /// <summary>How many heartbeats in a row must be answered within a quarter of a lease.</summary>
    internal const int PunctualBeats = 3;

    private readonly Lock _readyLock = new();
    private long? _readyAt;
    private int _punctual;
    private bool _joined;

    /// <summary>Whether the silo asks for its configured share.</summary>
    public bool Joined => _joined;

    /// <summary>The silo has finished starting; false if it had already.</summary>
    public bool MarkReady()
    {
        lock (_readyLock)
        {
            if (_readyAt is not null)
            {
                return false;
            }

            _readyAt = time.GetTimestamp();
            return true;
        }
    }

    /// <summary>A heartbeat sent at <paramref name="sentAt"/> was answered at <paramref name="answeredAt"/> (this silo's monotonic clock).</summary>
    public void Answered(long sentAt, long answeredAt, TimeSpan leaseDuration) =>
        _punctual = time.GetElapsedTime(sentAt, answeredAt) <= leaseDuration / 4 ? _punctual + 1 : 0;

    /// <summary>A heartbeat failed or timed out: the count of answers on time starts again.</summary>
    public void Missed() => _punctual = 0;

    /// <summary>
    /// The weight to report in a heartbeat sent at <paramref name="now"/>. A silo that holds
    /// partitions already (every live silo was a standby, so they shared them) reports its
    /// configured weight at once: as a standby it would have them taken away by the first
    /// silo to finish starting, and moved again as the others do.
    /// </summary>
    public int Weight(long now, bool holdsPartitions)
    {
        if (_joined || weight == 0)
        {
            return weight;
        }

        long? readyAt;
        lock (_readyLock)
        {
            readyAt = _readyAt;
        }

        if (holdsPartitions)
        {
            _joined = true;
            LogJoinedHolding(logger, group);
            return weight;
        }

        if (readyAt is null)
        {
            return 0;
        }

        var punctual = _punctual >= PunctualBeats;
        var waited = time.GetElapsedTime(readyAt.Value, now);
        if (!punctual && waited < startupTimeout)
        {
            return 0;
        }

        _joined = true;
        LogJoined(logger, group, waited.TotalMilliseconds, punctual);
        return weight;
    }

    [LoggerMessage(EventId = 3106, Level = LogLevel.Information, Message = "Consumer group {Group}: this silo asks for its share of the partitions, {Waited:0} ms after it finished starting (heartbeats answered on time: {Punctual})")]
    private static partial void LogJoined(ILogger logger, string group, double waited, bool punctual);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "Consumer group {Group}: this silo asks for its share of the partitions at once, since it holds some already (every silo was starting)")]
    private static partial void LogJoinedHolding(ILogger logger, string group);
}
