using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansKafka.KeyGrains;
using OrleansKafka.Partitions;
using OrleansKafka.Processing.State;

namespace OrleansKafka.Hosting;

/// <summary>
/// Writes and reads each kind of state the product keeps in grain storage once, with the silo's
/// grain-storage serializer, before the silo takes partitions.
/// </summary>
/// <remarks>
/// Orleans' default storage serializer (Newtonsoft.Json) builds a type's contract by reflection on
/// first use, and every thread that meets the type before the contract is cached builds it too.
/// A silo's first grants come many at once (start-up, an operator's seek of many partitions, a
/// rebalance), and each partition grain writes its ownership history as it takes its partition:
/// every pool thread then builds the same contracts at once, and heartbeats wait behind them
/// until leases run out. Built here once, on one thread, it costs a moment at start-up.
/// </remarks>
internal static partial class StorageSerializerWarmup
{
    public static void Run(IGrainStorageSerializer? serializer, ILogger logger)
    {
        if (serializer is null)
        {
            return;
        }

        try
        {
            RoundTrip(serializer, new PartitionControl
            {
                PausedSince = DateTimeOffset.UnixEpoch,
                History = [new OwnershipRecord { Silo = "warm-up", Epoch = 1, Since = DateTimeOffset.UnixEpoch, Reason = OwnershipReason.Start }],
            });
            RoundTrip(serializer, new ProcessorCheckpoint { NextOffset = 0, State = "{}" });
            RoundTrip(serializer, new KeyGrainCheckpoint { State = "{}", Applied = { ["warm-up"] = 0 } });
        }
        catch (Exception ex)
        {
            // Not fatal here: the grains report their own storage failures, with the grain named.
            LogWarmupFailed(logger, ex, serializer.GetType().FullName ?? serializer.GetType().Name);
        }
    }

    private static void RoundTrip<T>(IGrainStorageSerializer serializer, T state) => serializer.Deserialize<T>(serializer.Serialize(state));

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "The grain-storage serializer {Serializer} could not write and read back the partition grains' state; their state writes are likely to fail too")]
    private static partial void LogWarmupFailed(ILogger logger, Exception exception, string serializer);
}
