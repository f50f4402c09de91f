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
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Services.AddSingleton(new ProcessorRegistration(name, typeof(TProcessor)));
        Services.TryAddTransient<TProcessor>();
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

        return this;
    }
}
