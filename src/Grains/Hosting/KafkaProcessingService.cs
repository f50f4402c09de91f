using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Fetching;
using OrleansKafka.Kafka;
using OrleansKafka.LeaseAgents;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;
using OrleansKafka.Processing;

namespace OrleansKafka.Hosting;

/// <summary>
/// Starts one <see cref="LeaseAgent"/> per consumer group when the silo becomes active, and on
/// shutdown gives every partition up gracefully before the silo stops serving grains.
/// </summary>
internal sealed partial class KafkaProcessingService(
    IOptions<KafkaProcessingOptions> options,
    ProcessorCatalog catalog,
    KafkaConnection connection,
    LeaseTable leases,
    OwnerDirectory owners,
    PartitionActivations activations,
    CommitFlusher flusher,
    HoldSignals holds,
    BufferBudget budget,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    LeaseClock time,
    IServiceProvider services,
    ILoggerFactory loggers) : ILifecycleParticipant<ISiloLifecycle>, ILeaseHolders
{
    private readonly List<LeaseAgent> _agents = [];
    private NativeHeapTrimmer? _trimmer;
    private readonly ILogger _logger = loggers.CreateLogger<KafkaProcessingService>();
    private volatile LeaseAgent[] _running = [];
    private volatile bool _stopping;

    /// <summary>Whether every group's agent has started and the silo is not stopping.</summary>
    public bool IsRunning => _started && !_stopping;

    /// <summary>The agents of a running silo, one per consumer group; empty before start and after stop.</summary>
    public IReadOnlyList<LeaseAgent> Agents => _running;

    /// <summary>This silo's agent of <paramref name="group"/>, if it runs one.</summary>
    public LeaseAgent? Agent(string group) => Array.Find(_running, a => a.Group == group);

    /// <inheritdoc />
    public bool Holds(string grainKey) => Agent(PartitionGrainKey.Parse(grainKey).Group)?.Holds(grainKey) == true;

    /// <inheritdoc />
    public bool Restart(LocalLease lease, OwnershipReason reason) => Agent(lease.Group)?.Restart(lease, reason) == true;

    private volatile bool _started;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(KafkaProcessingService), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var siloId = SiloIdentity.Of(silo.SiloAddress);
        if (catalog.Groups.Count == 0)
        {
            LogNoProcessors(_logger);
        }

        ThreadPoolFloor.Raise(settings.MinThreadPoolThreads, _logger);
        StorageSerializerWarmup.Run(services.GetService<Orleans.Storage.IGrainStorageSerializer>(), _logger);
        foreach (var (group, bindings) in catalog.Groups)
        {
            var control = new GroupControlClient(group, Settings(group, "control"), () => leases.OfGroup(group), settings.CommitInterval, settings.LeaseDuration, loggers.CreateLogger<GroupControlClient>());
            flusher.Register(group, control);
            var pool = new FetchPool(
                group, i => Settings(group, $"fetch-{i}"), settings.FetchConsumers, grains, time, loggers, settings.PartitionBufferBytes, topic => DeliveryShapeOf(bindings, topic, settings), silo.SiloAddress, holds, budget);
            var agent = new LeaseAgent(
                new GroupRegistration
                {
                    Group = group,
                    SiloId = siloId,
                    Instance = silo.SiloAddress.ToString(),
                    Processors = bindings.ToDictionary(b => b.Name, b => b.Topic, StringComparer.Ordinal),
                },
                new LeaseAgentSettings(settings.LeaseRenewInterval, settings.StartupTimeout, settings.MetadataRefreshInterval, settings.LeaseDuration / 2, settings.SiloWeight, FirstStartsAtEnd(settings), settings.Placement.SiloCapacity, LacksRoles(bindings, settings), string.IsNullOrWhiteSpace(settings.Zone) ? null : settings.Zone.Trim()),
                leases,
                owners,
                activations,
                control,
                pool,
                grains,
                time,
                loggers.CreateLogger<LeaseAgent>());
            _agents.Add(agent);
        }

        // The groups start together: each waits mostly for Kafka's metadata and the lease grains'
        // answers, and one after another they took seconds of a joining silo's start. The first
        // to fail cancels the others' start, and those that had started give their partitions
        // back: when a start fails, neither Orleans nor the host calls the stop, and the groups
        // that started would go on processing.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var starts = _agents.Select(agent => StartAgentAsync(agent, failed)).ToArray();
        try
        {
            await Task.WhenAll(starts);
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            throw;
        }

        _trimmer = new NativeHeapTrimmer(settings.NativeHeapTrimInterval, time, loggers.CreateLogger<NativeHeapTrimmer>());
        _trimmer.Start();
        _running = [.. _agents];
        _started = true;

        // Partitions are taken once the whole host has started (its web host too), not while its
        // start still competes with them for the cores; without a host, now.
        if (services.GetService<IHostApplicationLifetime>() is { } lifetime)
        {
            lifetime.ApplicationStarted.Register(MarkReady);
        }
        else
        {
            MarkReady();
        }
    }

    private void MarkReady()
    {
        foreach (var agent in _running)
        {
            agent.MarkReady();
        }
    }

    private async Task StartAgentAsync(LeaseAgent agent, CancellationTokenSource failed)
    {
        try
        {
            await agent.StartAsync(failed.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !failed.IsCancellationRequested)
        {
            await failed.CancelAsync();
            if (ex is not KafkaException kafka)
            {
                throw;
            }

            throw new InvalidOperationException(
                $"Kafka at {KafkaProcessingOptions.SectionName}:BootstrapServers = '{connection.BootstrapServers}' did not answer within {KafkaProcessingOptions.SectionName}:StartupTimeout ({options.Value.StartupTimeout}): {kafka.Error.Reason}. Expected reachable brokers; check the address and the security settings.",
                kafka);
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _running = [];
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        foreach (var group in catalog.Groups.Keys)
        {
            flusher.Unregister(group);
        }

        _agents.Clear();
        if (_trimmer is not null)
        {
            await _trimmer.DisposeAsync();
            _trimmer = null;
        }
    }

    /// <summary>
    /// The deliveries of a topic's partitions: key-ordered processors (not batch ones) take up to
    /// <see cref="KafkaProcessingOptions.MaxKeyOrderedBatchSize"/> records, since a key's records of
    /// a delivery go to its grain in one call; the others <see cref="KafkaProcessingOptions.MaxBatchSize"/>.
    /// </summary>
    internal static DeliveryShape DeliveryShapeOf(IEnumerable<ProcessorBinding> bindings, string topic, KafkaProcessingOptions options)
    {
        var reading = bindings.Where(b => b.Topic == topic).ToList();
        var keyOrdered = reading.Count > 0 && reading.All(b => b.KeyOrdered && !b.Registration.IsBatch);
        return new DeliveryShape(
            keyOrdered ? options.MaxKeyOrderedBatchSize : options.MaxBatchSize,
            Whole: reading.Any(b => b.KeyOrdered || b.Registration.IsBatch));
    }

    private Dictionary<string, string> Settings(string group, string role)
    {
        var settings = connection.ClientSettings(new Dictionary<string, string>
        {
            ["group.id"] = group,
            ["client.id"] = $"orleanskafka-{silo.Name}-{group}-{role}",
            ["enable.auto.commit"] = "false",
            ["enable.auto.offset.store"] = "false",
            ["auto.offset.reset"] = "earliest",
            ["enable.partition.eof"] = "false",
            ["allow.auto.create.topics"] = "false",
            // librdkafka queues up to 64 MiB per consumer ahead of the silo's own buffers (which
            // SiloBufferBytes bounds), and at the budget the fetch workers leave records there: a
            // smaller queue bounds what a silo with a backlog holds (docs/benchmarks.md, backlog).
            // Kafka:Consumer overrides both.
            ["queued.max.messages.kbytes"] = "8192",
            // Once a consumer's queue is over that, librdkafka waits this long before fetching the
            // partition again: 1 s by default, long enough for a fast processor to drain the queue
            // and then sit idle.
            ["fetch.queue.backoff.ms"] = "100",
        });
        if (connection.IsEmbedded)
        {
            // The embedded brokers hold every fetch for the whole fetch.wait.max.ms (500 ms by
            // default) even when records are waiting; real brokers answer as soon as there are
            // records. A consumer setting (given to a producer, librdkafka warns at start), which
            // Kafka:Client or Kafka:Consumer may still set.
            settings.TryAdd("fetch.wait.max.ms", "5");
        }

        if (!string.IsNullOrWhiteSpace(options.Value.Zone))
        {
            // Where brokers allow it (replica.selector.class), fetches come from a replica in this zone.
            settings.TryAdd("client.rack", options.Value.Zone.Trim());
        }

        foreach (var (key, value) in options.Value.Consumer)
        {
            settings[key] = value;
        }

        // Ownership comes from the lease grain: these must hold whatever was passed through.
        // A committed offset that Kafka no longer holds is the processor's OnOffsetReset to
        // decide, never librdkafka's to follow silently: with "error" the consumer stops fetching
        // the partition and reports it. Where a partition with nothing committed starts is
        // passed explicitly (FirstStartsAtEnd).
        settings["auto.offset.reset"] = "error";
        settings["enable.auto.commit"] = "false";
        settings["enable.auto.offset.store"] = "false";
        settings["group.id"] = group;
        return settings;
    }

    /// <summary>
    /// Whether a partition with no committed offset starts at the end rather than the beginning:
    /// the <c>auto.offset.reset</c> of <see cref="KafkaProcessingOptions.Consumer"/> (or
    /// <see cref="KafkaProcessingOptions.Client"/>), earliest by default. The validator accepted its value.
    /// </summary>
    internal static bool FirstStartsAtEnd(KafkaProcessingOptions options) =>
        (options.Consumer.GetValueOrDefault("auto.offset.reset") ?? options.Client.GetValueOrDefault("auto.offset.reset")) is { } value
        && KafkaProcessingOptionsValidator.LatestResetValues.Contains(value.Trim());

    /// <summary>The roles the group's processors require that this silo does not have (<c>Kafka:Roles</c>).</summary>
    private static List<string> LacksRoles(IEnumerable<ProcessorBinding> bindings, KafkaProcessingOptions settings)
    {
        var roles = (settings.Roles ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return [.. bindings.Select(b => b.Options.Role?.Trim()).OfType<string>().Where(r => r.Length > 0 && !roles.Contains(r)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Kafka processing is added but no processor is enabled; configure Kafka:Processors")]
    private static partial void LogNoProcessors(ILogger logger);
}
