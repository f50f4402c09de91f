using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Processing;

namespace OrleansKafka.KeyGrains;

/// <summary>Registers a key grain interface as a processor: each record goes to the grain of its key.</summary>
internal static class KeyGrainRegistration
{
    /// <exception cref="ArgumentException"><paramref name="grainInterface"/> is not a key grain interface with string or integer keys.</exception>
    public static ProcessorRegistration Create(string name, Type grainInterface)
    {
        var contract = grainInterface.IsGenericType && grainInterface.GetGenericTypeDefinition() == typeof(IKafkaKeyGrain<>)
            ? grainInterface
            : ProcessorRegistration.Contract(grainInterface, typeof(IKafkaKeyGrain<>));
        var integerKeys = typeof(IGrainWithIntegerKey).IsAssignableFrom(grainInterface);
        if (contract is null || !grainInterface.IsInterface || (!integerKeys && !typeof(IGrainWithStringKey).IsAssignableFrom(grainInterface)))
        {
            throw new ArgumentException(
                $"Key grain '{name}' has type {grainInterface.FullName}; expected a grain interface that derives from IKafkaKeyGrain<TValue> and from IGrainWithStringKey or IGrainWithIntegerKey.",
                nameof(grainInterface));
        }

        var value = contract.GetGenericArguments()[0];
        var factory = (IPipelineFactory)Activator.CreateInstance(typeof(PipelineFactory<>).MakeGenericType(value))!;
        return new ProcessorRegistration(name, grainInterface, typeof(string), value, (services, group) => factory.Create(services, grainInterface, integerKeys, group))
        {
            Description = $"key grain {grainInterface.Name}",
            SendsToGrains = true,
        };
    }

    private interface IPipelineFactory
    {
        ProcessorPipeline Create(IServiceProvider services, Type grainInterface, bool integerKeys, string group);
    }

    private sealed class PipelineFactory<TValue> : IPipelineFactory
    {
        public ProcessorPipeline Create(IServiceProvider services, Type grainInterface, bool integerKeys, string group)
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            return new KeyGrainPipeline<TValue>(
                new GrainReferences(grains, services, grainInterface),
                new GrainReferences(grains, services, typeof(IKeyGrainBatch)),
                grainInterface,
                integerKeys,
                RecordDecoder<TValue>.Create(services),
                group,
                services.GetRequiredService<TimeProvider>());
        }
    }
}
