using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansKafka.Partitions;

/// <summary>A snapshot of one partition grain.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.PartitionStatus")]
public sealed record PartitionStatus
{
    /// <summary>The consumer group.</summary>
    [Id(0)] public required string Group { get; init; }

    /// <summary>The topic.</summary>
    [Id(1)] public required string Topic { get; init; }

    /// <summary>The partition.</summary>
    [Id(2)] public required int Partition { get; init; }

    /// <summary>The silo the grain is active on.</summary>
    [Id(3)] public required string Silo { get; init; }

    /// <summary>What the grain is doing.</summary>
    [Id(4)] public required PartitionState State { get; init; }

    /// <summary>The epoch of the lease the silo holds, or 0 when it holds none.</summary>
    [Id(5)] public long LeaseEpoch { get; init; }

    /// <summary>The next offset to process as last committed to Kafka, or -1 when unknown.</summary>
    [Id(6)] public long CommittedOffset { get; init; } = -1;

    /// <summary>The partition's high watermark as last seen by the fetcher, or -1 when unknown.</summary>
    [Id(7)] public long HighWatermark { get; init; } = -1;

    /// <summary>Records not yet committed: high watermark minus committed offset (0 for an empty partition), or -1 when unknown.</summary>
    public long Lag => HighWatermark == 0 ? 0 : HighWatermark < 0 || CommittedOffset < 0 ? -1 : Math.Max(0, HighWatermark - CommittedOffset);

    /// <summary>Records processed by this activation.</summary>
    [Id(8)] public long RecordsProcessed { get; init; }

    /// <summary>The offset being processed now, or -1.</summary>
    [Id(9)] public long InFlightOffset { get; init; } = -1;

    /// <summary>When processing of the in-flight record began.</summary>
    [Id(10)] public DateTimeOffset? InFlightSince { get; init; }

    /// <summary>The last processor error, if any.</summary>
    [Id(11)] public string? LastError { get; init; }

    /// <summary>When the last error happened.</summary>
    [Id(12)] public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Retries of the in-flight record so far.</summary>
    [Id(13)] public int RetryAttempt { get; init; }

    /// <summary>The offset of the record the partition holds at, or -1.</summary>
    [Id(14)] public long HeldOffset { get; init; } = -1;

    /// <summary>Since when the partition holds.</summary>
    [Id(15)] public DateTimeOffset? HeldSince { get; init; }

    /// <summary>A preview of the held record's key (text, or hex when it is not text).</summary>
    [Id(16)] public string? HeldKey { get; init; }

    /// <summary>A preview of the held record's value (text, or hex when it is not text).</summary>
    [Id(17)] public string? HeldValue { get; init; }

    /// <summary>Records this activation skipped after its processor gave up on them.</summary>
    [Id(18)] public long RecordsSkipped { get; init; }

    /// <summary>Records this activation wrote to the dead-letter topic.</summary>
    [Id(19)] public long RecordsDeadLettered { get; init; }

    /// <summary>Records processed a second, averaged over about the last 10 s (0 when idle).</summary>
    [Id(20)] public double RecordsPerSecond { get; init; }

    /// <summary>
    /// How long the lag would take to clear at <see cref="RecordsPerSecond"/>, ignoring records
    /// still to come; null when nothing is processed (idle, paused, holding) or there is no lag.
    /// </summary>
    [Id(21)] public TimeSpan? CatchUpEstimate { get; init; }

    /// <summary>When an operator paused the partition, if it is paused (the pause outlives moves and restarts).</summary>
    [Id(22)] public DateTimeOffset? PausedSince { get; init; }

    /// <summary>
    /// The state of a processor with exactly-once state (an <c>IStatefulProcessor</c>), as JSON;
    /// null for processors without state. JSON output shows it as <see cref="ProcessorState"/>.
    /// </summary>
    [Id(23), JsonIgnore] public string? ProcessorStateJson { get; init; }

    /// <summary>The keys the partition holds (<c>OnFailure = HoldKey</c>), lowest offset first; empty when none.</summary>
    [Id(24)] public IReadOnlyList<HeldKeyStatus> HeldKeys { get; init; } = [];

    /// <summary>Records waiting behind held keys, the held ones included.</summary>
    [Id(25)] public int RecordsWaiting { get; init; }

    /// <summary>The processor's state as a JSON value (the <c>processorState</c> field of JSON output); null without state.</summary>
    [JsonPropertyName("processorState")]
    public JsonElement? ProcessorState
    {
        get
        {
            if (ProcessorStateJson is not { } json)
            {
                return null;
            }

            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
    }

    /// <summary>
    /// The partition's cost as its owner last reported it to the lease grain, in busy seconds a
    /// second: seconds of processing per record × (records arriving a second + lag / 60 s). What
    /// placement by load balances; null before a report.
    /// </summary>
    [Id(26)] public double? Cost { get; init; }

    /// <summary>
    /// For a partition without an owner (<see cref="PartitionState.NotOwner"/>): why it waits, when
    /// no live silo may take it (none is live, or each lacks a role its processors require).
    /// </summary>
    [Id(27)] public string? Waiting { get; init; }

    /// <summary>
    /// The silos the partition's consumer group needs (<see cref="Leasing.GroupLoad.SilosDesired"/>),
    /// the same on each of the group's partitions; null where the status did not come through
    /// <see cref="PartitionGrainFactoryExtensions.GetPartitionStatusesAsync"/>.
    /// </summary>
    [Id(28)] public int? GroupSilosDesired { get; init; }
}
