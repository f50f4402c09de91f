using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansKafka.Configuration;
using OrleansKafka.Processing;

namespace OrleansKafka.Hosting;

internal sealed class KafkaProcessingBuilder(IServiceCollection services) : IKafkaProcessingBuilder
{
    public IServiceCollection Services { get; } = services;

    public IKafkaProcessingBuilder AddProcessor<TProcessor>(string name, Action<ProcessorOptions>? configure = null)
        where TProcessor : class
    {
        Register(name, typeof(TProcessor), configure);
        Services.TryAddTransient<TProcessor>();
        return this;
    }

    public IKafkaProcessingBuilder AddKeyGrain<TGrain>(string name, Action<ProcessorOptions>? configure = null)
        where TGrain : IGrain
    {
        Register(name, typeof(TGrain), configure);
        return this;
    }

    public IKafkaProcessingBuilder AddKafkaStreams<TValue>(string name, Action<ProcessorOptions>? configure = null) =>
        AddKafkaStreams<TValue>(name, name, configure);

    public IKafkaProcessingBuilder AddKafkaStreams<TValue>(string provider, string name, Action<ProcessorOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        Register(name, typeof(Streams.StreamSource<TValue>), configure, provider);
        if (!Services.Any(d => d.IsKeyedService && Equals(d.ServiceKey, provider) && d.ServiceType == typeof(Orleans.Streams.IStreamProvider)))
        {
            Services.AddKeyedSingleton<Orleans.Streams.IStreamProvider>(provider, (sp, _) => new Streams.KafkaStreamProvider(
                provider, sp.GetRequiredService<Streams.KafkaStreamProducer>(), sp.GetRequiredService<Orleans.Runtime.IGrainContextAccessor>()));
        }

        return this;
    }

    private void Register(string name, Type type, Action<ProcessorOptions>? configure, string? streamProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Services.AddSingleton(new ProcessorRegistration(name, type) { StreamProvider = streamProvider });
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
