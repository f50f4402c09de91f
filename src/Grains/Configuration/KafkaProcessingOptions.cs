namespace OrleansKafka.Configuration;

/// <summary>
/// Settings for Kafka processing on a silo, bound from the <c>Kafka</c> configuration section.
/// </summary>
public sealed class KafkaProcessingOptions
{
    /// <summary>The configuration section these options bind from by default.</summary>
    public const string SectionName = "Kafka";

    /// <summary>
    /// The grain storage the partition grains keep an operator's pause and their ownership
    /// history in. Register a durable one under this name (Redis, ADO.NET) for a pause that
    /// outlives the cluster; when none is registered, an in-memory storage is.
    /// </summary>
    public const string StorageName = KafkaStorage.Name;

    /// <summary>
    /// Default for <see cref="FetchConsumers"/>: the processors the silo may use (in a container,
    /// its CPU limit), at most 8. Each consumer has a thread that is busy while records flow; more
    /// of them than cores only take turns (docs/benchmarks.md, throughput).
    /// </summary>
    public static int DefaultFetchConsumers { get; } = Math.Clamp(Environment.ProcessorCount, 1, MaxDefaultFetchConsumers);

    /// <summary>The most fetch consumers a silo gets by default, however many cores it has: each costs a few threads and a librdkafka queue.</summary>
    public const int MaxDefaultFetchConsumers = 8;

    /// <summary>Default for <see cref="MaxBatchSize"/>.</summary>
    public const int DefaultMaxBatchSize = 1000;

    /// <summary>Default for <see cref="MaxKeyOrderedBatchSize"/>.</summary>
    public const int DefaultMaxKeyOrderedBatchSize = 4000;

    /// <summary>Default for <see cref="PartitionBufferBytes"/>: 16 MiB.</summary>
    public const int DefaultPartitionBufferBytes = 16 << 20;

    /// <summary>Default for <see cref="SiloBufferBytes"/>: 64 MiB.</summary>
    public const long DefaultSiloBufferBytes = 64L << 20;

    /// <summary>Default for <see cref="LeaseDuration"/>: 2 s (see docs/configuration.md for the trade-off).</summary>
    public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromSeconds(2);

    /// <summary>Default for <see cref="LeaseRenewInterval"/>: 500 ms, four renewals per lease.</summary>
    public static readonly TimeSpan DefaultLeaseRenewInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Default for <see cref="CommitInterval"/>.</summary>
    public static readonly TimeSpan DefaultCommitInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Default for <see cref="StartupTimeout"/>.</summary>
    public static readonly TimeSpan DefaultStartupTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Default for <see cref="MinThreadPoolThreads"/>.</summary>
    public const int DefaultMinThreadPoolThreads = 16;

    /// <summary>Default for <see cref="NativeHeapTrimInterval"/>: 5 s.</summary>
    public static readonly TimeSpan DefaultNativeHeapTrimInterval = TimeSpan.FromSeconds(5);

    /// <summary>Default for <see cref="MetadataRefreshInterval"/>.</summary>
    public static readonly TimeSpan DefaultMetadataRefreshInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Kafka brokers, comma-separated. Empty: the silo starts an embedded in-process Kafka cluster
    /// (see <see cref="Embedded"/>) and uses it.
    /// </summary>
    public string? BootstrapServers { get; set; }

    /// <summary>Any librdkafka setting (for example <c>security.protocol</c>, <c>sasl.mechanism</c>), applied to every client.</summary>
    public Dictionary<string, string> Client { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Any librdkafka consumer setting, applied to the fetching and committing clients after <see cref="Client"/>.</summary>
    public Dictionary<string, string> Consumer { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The embedded cluster, used when <see cref="BootstrapServers"/> is empty.</summary>
    public EmbeddedKafkaOptions Embedded { get; set; } = new();

    /// <summary>Processors by name; each name must be registered in code with <c>AddProcessor</c>.</summary>
    public Dictionary<string, ProcessorOptions> Processors { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Kafka consumers per consumer group on each silo; a silo's partitions of the group are spread over them. Default: the silo's processor count, at most 8.</summary>
    public int FetchConsumers { get; set; } = DefaultFetchConsumers;

    /// <summary>The most records handed to a partition grain in one call (a batch processor's largest batch). Default 1000.</summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>
    /// The most records handed in one call to the partition grain of a key-ordered processor
    /// (<c>Order=Key</c>, key grains, streams) that is not a batch processor. Default 4000. The
    /// partition sends a key's records of one delivery to its grain in one call, so a larger
    /// delivery means fewer grain calls a record (docs/benchmarks.md, streams); deliveries still
    /// follow the partition's pace and grow this large only while records are waiting.
    /// </summary>
    public int MaxKeyOrderedBatchSize { get; set; } = DefaultMaxKeyOrderedBatchSize;

    /// <summary>
    /// Bytes buffered per partition before its fetching is paused. Default 16 MiB. Keep it well above
    /// librdkafka's <c>max.partition.fetch.bytes</c>: pausing drops the records librdkafka has
    /// prefetched for the partition, and they are fetched again on resume. The buffer only fills
    /// when the processor is slower than the fetch.
    /// </summary>
    public int PartitionBufferBytes { get; set; } = DefaultPartitionBufferBytes;

    /// <summary>
    /// Bytes of fetched records a silo holds in memory at most, over all partitions of all
    /// groups, besides <see cref="PartitionBufferBytes"/> per partition; counted from the fetch
    /// until the record's delivery is processed. At it, a partition holding more than twice its
    /// share is paused, and otherwise fetching waits for records to be processed. Default 64 MiB.
    /// </summary>
    public long SiloBufferBytes { get; set; } = DefaultSiloBufferBytes;

    /// <summary>
    /// How long a lease lasts unless renewed. Default 2 s. A partition whose owner dies or freezes
    /// is granted again only after this (plus a twentieth) has passed since its last renewal, so it
    /// bounds failover; a silo that cannot renew for this long (a stall, a long GC pause, a lost
    /// network) stops processing its partitions.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = DefaultLeaseDuration;

    /// <summary>How often a silo renews its leases (and learns of grants and revocations). Default 500 ms.</summary>
    public TimeSpan LeaseRenewInterval { get; set; } = DefaultLeaseRenewInterval;

    /// <summary>How often processed offsets are committed to Kafka (at-least-once). Default 500 ms.</summary>
    public TimeSpan CommitInterval { get; set; } = DefaultCommitInterval;

    /// <summary>How long start-up may wait for Kafka metadata before failing. Default 10 s.</summary>
    public TimeSpan StartupTimeout { get; set; } = DefaultStartupTimeout;

    /// <summary>How often partition counts are re-read from Kafka, so added partitions are picked up. Default 30 s.</summary>
    public TimeSpan MetadataRefreshInterval { get; set; } = DefaultMetadataRefreshInterval;

    /// <summary>
    /// How often the silo gives the native heap's free memory back to the operating system
    /// (glibc's <c>malloc_trim</c>, on Linux). Default 5 s; <c>00:00:00</c> turns it off.
    /// librdkafka's buffers and the fetched records are native memory freed at the pace records
    /// arrive, and glibc otherwise keeps much of it.
    /// </summary>
    public TimeSpan NativeHeapTrimInterval { get; set; } = DefaultNativeHeapTrimInterval;

    /// <summary>
    /// The fewest .NET thread-pool worker threads the silo keeps ready, raised at start if the
    /// process has fewer (never lowered). Default 16; 0 leaves the thread pool as it is. On a busy
    /// silo the pool otherwise runs about one thread per core, while the Kafka clients' own
    /// threads take most of the CPU, so the lease renewals wait behind processing for longer than
    /// a lease (see docs/configuration.md).
    /// </summary>
    public int MinThreadPoolThreads { get; set; } = DefaultMinThreadPoolThreads;

    /// <summary>
    /// This silo's share of the partitions relative to the other silos, 0 to 1000. Default 1: silos
    /// of weight 2 get twice the partitions of silos of weight 1. A silo of weight 0 is a standby
    /// that gets partitions only while every live silo has weight 0.
    /// </summary>
    public int SiloWeight { get; set; } = 1;

    /// <summary>
    /// This silo's roles, comma-separated (<c>heavy,gpu</c>): it processes the partitions of a
    /// processor whose <see cref="ProcessorOptions.Role"/> is one of them. Default none: it processes
    /// only processors without a role.
    /// </summary>
    public string? Roles { get; set; }

    /// <summary>
    /// This silo's zone (an availability zone, a rack). Given to its consumers as librdkafka's
    /// <c>client.rack</c> (unless <see cref="Consumer"/> or <see cref="Client"/> sets it), and to the
    /// lease grain, which prefers, where the load allows, to place a partition on a silo in the zone
    /// of the partition's leader broker (its rack in Kafka's metadata). Default none.
    /// </summary>
    public string? Zone { get; set; }

    /// <summary>How the lease grain spreads the partitions over the silos: by measured load (the default) or by count.</summary>
    public PlacementOptions Placement { get; set; } = new();
}
