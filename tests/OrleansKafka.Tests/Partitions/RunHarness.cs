using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Kafka;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using OrleansKafka.Processing.State;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Tests.Partitions;

/// <summary>
/// A partition grain's parts wired as the grain wires them, without a cluster: a run over a
/// scripted processor, on a fake clock, under a real <see cref="LocalLease"/>. Runs go through
/// one exclusive scheduler, as an activation's turns do.
/// </summary>
internal sealed class RunHarness
{
    public const string Group = "g";
    public const string Topic = "t";
    public static readonly string GrainKey = PartitionGrainKey.Format(Group, Topic, 0);
    private static readonly IMeterFactory Meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
    private readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    // control: the control state in storage, for a harness standing for a later activation; a new one by default.
    public RunHarness(ProcessorPipeline pipeline, ProcessorOptions options, bool keyOrdered = false, ProcessorStateAccess? state = null, InMemoryState<PartitionControl>? control = null)
    {
        Control = control ?? new();
        HeldKeys = new HeldKeys(options.MaxWaitingRecords);
        HeldKeys.Restore(Control.State.KeyHolds, Control.State.ResolvedOffsets);
        Lease = new LocalLease(Group, new TopicPartition(Topic, 0), epoch: 1, Time.GetTimestamp() + (long)(60 * Time.TimestampFrequency), Time);
        Gate = new PartitionGate(GrainKey, () => Paused, Time, NullLogger.Instance);
        Progress = new PartitionProgress(Time);
        Checkpoint = new PartitionCheckpoint(GrainKey, Stored, new CommitFlusher(), Holders, Gate, NullLogger.Instance) { State = state };
        Checkpoint.BeginLease(Lease);
        var telemetry = Telemetry = new ProcessingMetrics(Meters, new LeaseTable()).For(Group, Topic, 0);
        ControlStore = new PartitionControlStore(GrainKey, "silo-1", Control, Time, NullLogger.Instance);
        Runner = new RecordRunner(GrainKey, Group, options, pipeline, new DeadLetterWriter(new NoKafka()), Gate, Progress, ControlStore, telemetry, Time, NullLogger.Instance);
        Run = keyOrdered
            ? new KeyOrderRun(GrainKey, pipeline, options.MaxInFlight, Gate, Runner, Checkpoint, Progress, options.Delivery, finishesCallsOnRevoke: false, HeldKeys, () => Nudges++, _ => Task.FromResult(Committed), NullLogger.Instance)
            : new OffsetOrderRun(pipeline, options.Delivery, Gate, Runner, Checkpoint, Progress, _ => { Commits++; return Task.CompletedTask; });
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-12-05T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public LocalLease Lease { get; }

    public PartitionGate Gate { get; }

    /// <summary>The committed offset and note a key-ordered run reads at a lease's first delivery; none by default.</summary>
    public (long Offset, CommitNote? Note)? Committed { get; set; }

    /// <summary>How often the run nudged the feed for a held key's automatic retry.</summary>
    public int Nudges { get; private set; }

    /// <summary>The partition's instruments, as the run reports to them.</summary>
    public PartitionTelemetry Telemetry { get; }

    /// <summary>The keys the partition holds (OnFailure HoldKey).</summary>
    public HeldKeys HeldKeys { get; }

    public PartitionProgress Progress { get; }

    public PartitionCheckpoint Checkpoint { get; }

    public RecordRunner Runner { get; }

    public IPartitionRun Run { get; }

    public InMemoryState<ProcessorCheckpoint> Stored { get; } = new();

    /// <summary>The partition's control state (pause, hold, history) in storage.</summary>
    public InMemoryState<PartitionControl> Control { get; }

    public PartitionControlStore ControlStore { get; }

    public RecordingHolders Holders { get; } = new();

    public bool Paused { get; set; }

    /// <summary>Immediate commits the run asked for (an operator's decision).</summary>
    public int Commits { get; private set; }

    /// <summary>Runs the records the way the grain does: those below the checkpoint's next offset left out.</summary>
    public Task<DeliveryOutcome> DeliverAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records) =>
        Task.Factory.StartNew(
            () =>
            {
                var start = 0;
                while (start < records.Count && records[start].Offset.Value < Checkpoint.NextOffset)
                {
                    start++;
                }

                return Run.RunAsync(records, start, Lease);
            },
            CancellationToken.None,
            TaskCreationOptions.None,
            _turns).Unwrap();

    /// <summary>Carries out the operators' decisions on held keys: a delivery without records, as the feed sends when nudged.</summary>
    public Task<DeliveryOutcome> ReleaseAsync() => DeliverAsync([]);

    /// <summary>An operator's decision about the key held at <paramref name="offset"/>, as the grain notes it.</summary>
    public void DecideKey(long offset, HoldDecision decision) =>
        new KeyHoldCommand(GrainKey, "silo-1", HeldKeys, Time).Decide(offset, decision);

    /// <summary>Records at <paramref name="from"/> on, keyed by <paramref name="keys"/> in turn, valued by their offset.</summary>
    public static List<ConsumeResult<byte[], byte[]>> Records(long from, params string[] keys) =>
        [.. keys.Select((key, i) => new ConsumeResult<byte[], byte[]>
        {
            Topic = Topic,
            Partition = 0,
            Offset = from + i,
            Message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes((from + i).ToString(System.Globalization.CultureInfo.InvariantCulture)), Timestamp = new Timestamp(0, TimestampType.CreateTime) },
        })];

    private sealed class NoKafka : IKafkaConnection
    {
        public string BootstrapServers => "127.0.0.1:1";

        public bool IsEmbedded => false;

        public Dictionary<string, string> ClientSettings(IReadOnlyDictionary<string, string>? specific = null) =>
            throw new InvalidOperationException("These tests write no dead letters.");
    }
}
