using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using OrleansKafka.Configuration;
using OrleansKafka.Processing;

namespace OrleansKafka.Hosting;

/// <summary>
/// Checks the processing options at start-up, against the registered processors and the silo's
/// services too (a stateful processor needs an instance per partition; values sent to grains must
/// serialize): the one place configuration is checked. Each message names the setting, its value
/// and what was expected.
/// </summary>
internal sealed class KafkaProcessingOptionsValidator(IEnumerable<ProcessorRegistration> registrations, IServiceProvider services) : IValidateOptions<KafkaProcessingOptions>
{
    /// <summary>The most <see cref="KafkaProcessingOptions.MinThreadPoolThreads"/> accepts: far beyond any use, well within what the thread pool takes.</summary>
    private const int MaxMinThreadPoolThreads = 1024;

    /// <summary>The <c>auto.offset.reset</c> values that start a partition with nothing committed at its end; librdkafka's spellings.</summary>
    internal static readonly IReadOnlySet<string> LatestResetValues = new HashSet<string>(["latest", "largest", "end"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The <c>auto.offset.reset</c> values that start a partition with nothing committed at its beginning.</summary>
    private static readonly IReadOnlySet<string> EarliestResetValues = new HashSet<string>(["earliest", "smallest", "beginning"], StringComparer.OrdinalIgnoreCase);

    public ValidateOptionsResult Validate(string? name, KafkaProcessingOptions options)
    {
        var errors = new List<string>();
        const string S = KafkaProcessingOptions.SectionName;
        Positive(errors, $"{S}:FetchConsumers", options.FetchConsumers);
        Positive(errors, $"{S}:MaxBatchSize", options.MaxBatchSize);
        Positive(errors, $"{S}:MaxKeyOrderedBatchSize", options.MaxKeyOrderedBatchSize);
        Positive(errors, $"{S}:PartitionBufferBytes", options.PartitionBufferBytes);
        Positive(errors, $"{S}:Embedded:Brokers", options.Embedded.Brokers);
        Positive(errors, $"{S}:LeaseDuration", options.LeaseDuration);
        Positive(errors, $"{S}:LeaseRenewInterval", options.LeaseRenewInterval);
        Positive(errors, $"{S}:CommitInterval", options.CommitInterval);
        Positive(errors, $"{S}:StartupTimeout", options.StartupTimeout);
        Positive(errors, $"{S}:MetadataRefreshInterval", options.MetadataRefreshInterval);
        if (options.NativeHeapTrimInterval < TimeSpan.Zero)
        {
            errors.Add($"{S}:NativeHeapTrimInterval is {options.NativeHeapTrimInterval}; expected a duration such as 00:00:01, or 00:00:00 to turn trimming off.");
        }
        if (options.MinThreadPoolThreads is < 0 or > MaxMinThreadPoolThreads)
        {
            errors.Add($"{S}:MinThreadPoolThreads is {options.MinThreadPoolThreads}; expected a number of threads from 0 (leave the thread pool as it is) to {MaxMinThreadPoolThreads} (default {KafkaProcessingOptions.DefaultMinThreadPoolThreads}).");
        }

        if (!string.IsNullOrWhiteSpace(options.BootstrapServers) && BadBootstrapEntry(options.BootstrapServers) is { } bad)
        {
            errors.Add($"{S}:BootstrapServers is '{options.BootstrapServers}' ('{bad}' is not host:port); expected host:port pairs separated by commas, such as broker1:9092,broker2:9092, or empty for the embedded Kafka.");
        }

        if (options.SiloBufferBytes <= 0)
        {
            errors.Add($"{S}:SiloBufferBytes is {options.SiloBufferBytes}; expected a number of bytes, 1 or more (default {KafkaProcessingOptions.DefaultSiloBufferBytes}).");
        }

        if (options.SiloWeight is < 0 or > 1000)
        {
            errors.Add($"{S}:SiloWeight is {options.SiloWeight}; expected a whole number from 0 (a standby) to 1000.");
        }

        Placement(errors, options.Placement);
        if (options.LeaseRenewInterval * 2 > options.LeaseDuration)
        {
            errors.Add($"{S}:LeaseRenewInterval is {options.LeaseRenewInterval} and {S}:LeaseDuration is {options.LeaseDuration}; expected the lease to last at least two renew intervals, so one late heartbeat does not lose every lease.");
        }

        foreach (var (section, values) in new[] { ("Client", options.Client), ("Consumer", options.Consumer) })
        {
            if (values.GetValueOrDefault("auto.offset.reset") is { } reset && !LatestResetValues.Contains(reset.Trim()) && !EarliestResetValues.Contains(reset.Trim()))
            {
                errors.Add($"{S}:{section}:auto.offset.reset is '{reset}'; expected earliest or latest: where a partition with no committed offset starts. A committed offset Kafka no longer holds is handled by each processor's OnOffsetReset (Hold, Earliest or Latest).");
            }
        }

        foreach (var (topic, partitions) in options.Embedded.Topics)
        {
            if (partitions <= 0)
            {
                errors.Add($"{S}:Embedded:Topics:{topic} is {partitions}; expected a partition count of 1 or more.");
            }
        }

        var registered = registrations.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (processor, settings) in options.Processors)
        {
            if (!registered.Contains(processor))
            {
                errors.Add($"{S}:Processors:{processor} configures a processor that is not registered; expected one of: {(registered.Count == 0 ? "(none registered)" : string.Join(", ", registered.Order(StringComparer.Ordinal)))}. Register it with AddProcessor<T>(\"{processor}\").");
                continue;
            }

            if (!settings.Enabled)
            {
                continue;
            }

            if (string.IsNullOrWhiteSpace(settings.Topic))
            {
                errors.Add($"{S}:Processors:{processor}:Topic is empty; expected the name of the topic to process.");
            }

            if (string.IsNullOrWhiteSpace(settings.Group))
            {
                errors.Add($"{S}:Processors:{processor}:Group is empty; expected the consumer group to commit offsets under.");
            }

            if (!Enum.IsDefined(settings.Delivery))
            {
                errors.Add($"{S}:Processors:{processor}:Delivery is {settings.Delivery}; expected AtLeastOnce or AtMostOnce.");
            }

            Positive(errors, $"{S}:Processors:{processor}:FirstRetryDelay", settings.FirstRetryDelay);
            Positive(errors, $"{S}:Processors:{processor}:MaxRetryDelay", settings.MaxRetryDelay);
            Positive(errors, $"{S}:Processors:{processor}:MaxAttempts", settings.MaxAttempts);
            Positive(errors, $"{S}:Processors:{processor}:MaxInFlight", settings.MaxInFlight);
            if (!Enum.IsDefined(settings.Order))
            {
                errors.Add($"{S}:Processors:{processor}:Order is {settings.Order}; expected Partition or Key.");
            }
            else if (settings.Order == ProcessingOrder.Key && registrations.First(r => r.Name == processor).IsBatch)
            {
                errors.Add($"{S}:Processors:{processor}:Order is Key, but the processor is a batch processor; expected Partition, or an IRecordProcessor<TKey, TValue>.");
            }
            else if (settings.Order == ProcessingOrder.Key && registrations.First(r => r.Name == processor).IsStateful)
            {
                errors.Add($"{S}:Processors:{processor}:Order is Key, but the processor keeps exactly-once state (IStatefulProcessor), which is stored with one offset per partition; expected Partition.");
            }

            if (settings.Delivery == DeliveryGuarantee.AtMostOnce && registrations.First(r => r.Name == processor).IsStateful)
            {
                errors.Add($"{S}:Processors:{processor}:Delivery is AtMostOnce, but the processor keeps exactly-once state (IStatefulProcessor), which is stored with the offset after processing; expected AtLeastOnce.");
            }

            if (!Enum.IsDefined(settings.OnFailure))
            {
                errors.Add($"{S}:Processors:{processor}:OnFailure is {settings.OnFailure}; expected Hold, HoldKey, DeadLetter or Skip.");
            }
            else if (settings.OnFailure == FailureAction.HoldKey)
            {
                var registration = registrations.First(r => r.Name == processor);
                if (settings.Order != ProcessingOrder.Key && !registration.SendsToGrains)
                {
                    errors.Add($"{S}:Processors:{processor}:OnFailure is HoldKey, but records are processed in partition order; expected Order Key (or key grains, or a stream), or OnFailure Hold.");
                }

                if (settings.Delivery == DeliveryGuarantee.AtMostOnce)
                {
                    errors.Add($"{S}:Processors:{processor}:OnFailure is HoldKey, but Delivery is AtMostOnce, which commits records before they run; expected AtLeastOnce, or OnFailure Skip.");
                }
            }

            Positive(errors, $"{S}:Processors:{processor}:MaxWaitingRecords", settings.MaxWaitingRecords);

            if (!Enum.IsDefined(settings.OnOffsetReset))
            {
                errors.Add($"{S}:Processors:{processor}:OnOffsetReset is {settings.OnOffsetReset}; expected Hold, Earliest or Latest.");
            }

            if (settings.MaxRecordBytes < 0)
            {
                errors.Add($"{S}:Processors:{processor}:MaxRecordBytes is {settings.MaxRecordBytes}; expected 0 (no limit) or a number of bytes.");
            }

            if (settings.OnFailure == FailureAction.DeadLetter && settings.EffectiveDeadLetterTopic == settings.Topic)
            {
                errors.Add($"{S}:Processors:{processor}:DeadLetterTopic is '{settings.DeadLetterTopic}', the topic the processor reads; expected another topic, or none for '{settings.Topic}.dlq'.");
            }

            CheckServices(errors, $"{S}:Processors:{processor}", registrations.First(r => r.Name == processor));
        }

        foreach (var registration in registrations.Where(r => !options.Processors.ContainsKey(r.Name)))
        {
            errors.Add($"{S}:Processors:{registration.Name} is missing; processor '{registration.Name}' ({registration.Description}) is registered and expects a Topic and a Group there.");
        }

        var clashes = options.Processors
            .Where(p => p.Value.Enabled && registered.Contains(p.Key) && !string.IsNullOrWhiteSpace(p.Value.Topic) && !string.IsNullOrWhiteSpace(p.Value.Group))
            .GroupBy(p => (p.Value.Group, p.Value.Topic))
            .Where(g => g.Count() > 1);
        foreach (var clash in clashes)
        {
            errors.Add($"{S}:Processors:{string.Join(" and ", clash.Select(p => p.Key))} all read topic '{clash.Key.Topic}' in consumer group '{clash.Key.Group}'; expected one processor per topic and group, since a group commits one offset per partition. Give each its own Group.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>What the silo's services must give a processor: an instance of its own per partition for state, a serializer for values sent to grains.</summary>
    private void CheckServices(List<string> errors, string setting, ProcessorRegistration registration)
    {
        var type = registration.ProcessorType;
        if (registration.IsStateful && services.GetService(type) is { } instance && ReferenceEquals(instance, services.GetService(type)))
        {
            // One instance per partition holds that partition's state; a shared one would mix partitions.
            errors.Add($"{setting}: {type.Name} keeps exactly-once state, but its registration hands out one shared instance, so the partitions would share one state. Expected a transient registration (AddProcessor registers one unless the type is already registered).");
        }

        if (registration.SendsToGrains && services.GetService<Serializer>() is { } serializer && !serializer.CanSerialize(registration.ValueType))
        {
            // Found now rather than at the first record sent to a grain on another silo.
            errors.Add($"{setting}: {registration.Description} takes values of type {registration.ValueType.FullName}, which Orleans cannot serialize, and records travel to grains on other silos. Expected a serializable type: mark it [GenerateSerializer] with [Id] members, or register a serializer for it.");
        }
    }

    /// <summary>The first entry that is not <c>[scheme://]host[:port]</c> with a port from 1 to 65535, or null.</summary>
    private static string? BadBootstrapEntry(string servers)
    {
        foreach (var entry in servers.Split(',').Select(e => e.Trim()))
        {
            var address = entry.Contains("://", StringComparison.Ordinal) ? entry[(entry.IndexOf("://", StringComparison.Ordinal) + 3)..] : entry;
            var colon = address.LastIndexOf(':');
            var host = colon < 0 || address.EndsWith(']') ? address : address[..colon];
            var port = colon < 0 || address.EndsWith(']') ? "9092" : address[(colon + 1)..];
            if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '?') || !int.TryParse(port, out var number) || number is < 1 or > 65535)
            {
                return entry;
            }
        }

        return null;
    }

    private static void Placement(List<string> errors, PlacementOptions placement)
    {
        const string P = KafkaProcessingOptions.SectionName + ":Placement";
        if (!Enum.IsDefined(placement.BalanceBy))
        {
            errors.Add($"{P}:BalanceBy is {placement.BalanceBy}; expected Load (balance the partitions' measured cost, the default) or Count (balance their number).");
        }

        Positive(errors, $"{P}:RebalanceInterval", placement.RebalanceInterval);
        if (placement.MaxMovesPerInterval < 1)
        {
            errors.Add($"{P}:MaxMovesPerInterval is {placement.MaxMovesPerInterval}; expected 1 or more partitions a rebalance may move (default {PlacementOptions.DefaultMaxMovesPerInterval}).");
        }

        if (placement.Tolerance is < 0.05 or > 1 || double.IsNaN(placement.Tolerance))
        {
            errors.Add($"{P}:Tolerance is {placement.Tolerance}; expected a fraction of a silo's mean load from 0.05 to 1 (default {PlacementOptions.DefaultTolerance}).");
        }

        if (placement.SiloCapacity is <= 0 or > 10_000 || double.IsNaN(placement.SiloCapacity))
        {
            errors.Add($"{P}:SiloCapacity is {placement.SiloCapacity}; expected the busy seconds a second this silo can carry, more than 0 (default: its processor count, {Environment.ProcessorCount}).");
        }
    }

    private static void Positive(List<string> errors, string setting, int value)
    {
        if (value <= 0)
        {
            errors.Add($"{setting} is {value}; expected 1 or more.");
        }
    }

    private static void Positive(List<string> errors, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{setting} is {value}; expected a positive duration such as 00:00:05.");
        }
    }
}
