using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansKafka.Configuration;
using OrleansKafka.KeyGrains;
using OrleansKafka.Processing;
using OrleansKafka.Streams;

namespace OrleansKafka.Hosting;

internal sealed class KafkaProcessingBuilder(IServiceCollection services) : IKafkaProcessingBuilder
{
    public IServiceCollection Services { get; } = services;

    public IKafkaProcessingBuilder AddProcessor<TProcessor>(string name, Action<ProcessorOptions>? configure = null)
        where TProcessor : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Register(ProcessorRegistration.ForProcessor(name, typeof(TProcessor)), configure);
        Services.TryAddTransient<TProcessor>();
        return this;
    }

    public IKafkaProcessingBuilder AddKeyGrain<TGrain>(string name, Action<ProcessorOptions>? configure = null)
        where TGrain : IGrain
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Register(KeyGrainRegistration.Create(name, typeof(TGrain)), configure);
        return this;
    }

    public IKafkaProcessingBuilder AddKafkaStreams<TValue>(string name, Action<ProcessorOptions>? configure = null) =>
        AddKafkaStreamNamespace<TValue>(name, name, configure);

    public IKafkaProcessingBuilder AddKafkaStreamNamespace<TValue>(string provider, string name, Action<ProcessorOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Register(StreamRegistration.Create<TValue>(provider, name), configure);
        if (!Services.Any(d => d.IsKeyedService && Equals(d.ServiceKey, provider) && d.ServiceType == typeof(Orleans.Streams.IStreamProvider)))
        {
            Services.AddKeyedSingleton<Orleans.Streams.IStreamProvider>(provider, (sp, _) => new KafkaStreamProvider(
                provider, sp.GetRequiredService<KafkaStreamProducer>(), sp.GetRequiredService<Orleans.Runtime.IGrainContextAccessor>()));
        }

        return this;
    }

    private void Register(ProcessorRegistration registration, Action<ProcessorOptions>? configure)
    {
        var name = registration.Name;
        Services.AddSingleton(registration);
        if (configure is not null)
        {
            Services.Configure<KafkaProcessingOptions>(o =>
            {
                if (!o.Processors.TryGetValue(name, out var processor))
                {
                    processor = new ProcessorOptions();
                    o.Processors[name] = processor;
                }

                configure(processor);
            });
        }
    }
}
