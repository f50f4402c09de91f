using Microsoft.Extensions.Options;
using OrleansKafka.Configuration;

namespace OrleansKafka.Processing;

/// <summary>The enabled processors of this silo, by consumer group and topic.</summary>
internal sealed class ProcessorCatalog
{
    private readonly Dictionary<(string Group, string Topic), ProcessorBinding> _byPartitionOwner = [];
    private readonly IServiceProvider _services;

    public ProcessorCatalog(IEnumerable<ProcessorRegistration> registrations, IOptions<KafkaProcessingOptions> options, IServiceProvider services)
    {
        _services = services;
        var configured = options.Value.Processors;
        foreach (var registration in registrations)
        {
            if (!configured.TryGetValue(registration.Name, out var processorOptions) || !processorOptions.Enabled)
            {
                continue;
            }

            // Validation at start-up has already refused two processors on one group and topic.
            _byPartitionOwner[(processorOptions.Group!, processorOptions.Topic!)] = new ProcessorBinding(registration, processorOptions);
        }

        Groups = _byPartitionOwner.Values.GroupBy(b => b.Group, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<ProcessorBinding>)[.. g], StringComparer.Ordinal);
    }

    /// <summary>Enabled bindings by consumer group.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ProcessorBinding>> Groups { get; }

    public ProcessorBinding? Find(string group, string topic) =>
        _byPartitionOwner.GetValueOrDefault((group, topic));

    /// <summary>A fresh pipeline (and processor) for one partition of <paramref name="binding"/>.</summary>
    public ProcessorPipeline CreatePipeline(ProcessorBinding binding) =>
        binding.Registration.CreatePipeline(_services, binding.Group);
}
