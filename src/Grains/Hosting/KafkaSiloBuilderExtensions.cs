using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Fetching;
using OrleansKafka.Kafka;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using OrleansKafka.Telemetry;

namespace OrleansKafka.Hosting;

/// <summary>Adds Kafka processing to an Orleans silo.</summary>
public static class KafkaSiloBuilderExtensions
{
    /// <summary>
    /// Adds Kafka processing with options bound from <paramref name="configuration"/> (usually the
    /// <c>Kafka</c> section), then <paramref name="configure"/>. Options are validated at start-up.
    /// </summary>
    public static IKafkaProcessingBuilder AddKafkaProcessing(this ISiloBuilder builder, IConfiguration? configuration = null, Action<KafkaProcessingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<KafkaProcessingOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaProcessingOptions>, KafkaProcessingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new LeaseClock(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<KafkaConnection>();
        services.TryAddSingleton<IKafkaConnection>(sp => sp.GetRequiredService<KafkaConnection>());
        services.TryAddSingleton<LeaseTable>();
        services.TryAddSingleton<OwnerDirectory>();
        services.TryAddSingleton<PartitionActivations>();
        services.TryAddSingleton<CommitFlusher>();
        services.TryAddSingleton<DeadLetterWriter>();
        services.TryAddSingleton<HoldSignals>();
        services.TryAddSingleton(sp => new BufferBudget(sp.GetRequiredService<IOptions<KafkaProcessingOptions>>().Value.SiloBufferBytes));
        services.TryAddSingleton<ProcessorCatalog>();
        if (!services.Any(s => s.IsKeyedService && Equals(s.ServiceKey, KafkaProcessingOptions.StorageName) && s.ServiceType == typeof(Orleans.Storage.IGrainStorage)))
        {
            builder.AddMemoryGrainStorage(KafkaProcessingOptions.StorageName);
        }

        services.AddMetrics();
        services.TryAddSingleton<ProcessingMetrics>();
        services.TryAddSingleton<PlacementMetrics>();
        if (!services.Any(s => s.ServiceType == typeof(KafkaProcessingService)))
        {
            services.AddSingleton<KafkaProcessingService>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<KafkaProcessingService>());
            services.AddSingleton<ILeaseHolders>(sp => sp.GetRequiredService<KafkaProcessingService>());
            builder.AddPlacementDirector<PartitionOwnerPlacement, PartitionOwnerPlacementDirector>();
            services.AddSingleton<KeyGrains.SiloStallWatch>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<KeyGrains.SiloStallWatch>());
            services.AddSingleton<KeyGrains.KeyGrainEpochFence>();
            services.AddSingleton<Orleans.Runtime.Placement.IPlacementStrategyResolver, KeyGrains.KeyGrainPlacement>();
            services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<KeyGrains.KeyGrainEpochFence>());
            builder.AddGrainExtension<Streams.IKafkaStreamDelivery, Streams.KafkaStreamDelivery>();
            builder.AddGrainExtension<KeyGrains.IKeyGrainBatch, KeyGrains.KeyGrainBatch>();
            services.AddSingleton<Streams.ImplicitSubscribers>();
            services.AddSingleton<Streams.KafkaStreamProducer>();
        }

        return new KafkaProcessingBuilder(services);
    }
}
