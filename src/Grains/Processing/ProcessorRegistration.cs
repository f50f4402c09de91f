using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Processing.State;

namespace OrleansKafka.Processing;

/// <summary>A processor registered in code under a name: what it takes, and how to build its pipeline for one partition.</summary>
/// <remarks>
/// Each processor form supplies its registrations through the builder: record and batch
/// processors here (<see cref="ForProcessor"/>), key grains and Kafka streams from their own
/// folders. Nothing form-neutral needs to know which forms exist.
/// </remarks>
internal sealed class ProcessorRegistration(
    string name,
    Type processorType,
    Type keyType,
    Type valueType,
    Func<IServiceProvider, string, ProcessorPipeline> createPipeline)
{
    public string Name { get; } = name;

    /// <summary>The type registered: a processor class, a key grain interface, or the value type of a Kafka stream provider.</summary>
    public Type ProcessorType { get; } = processorType;

    public Type KeyType { get; } = keyType;

    public Type ValueType { get; } = valueType;

    /// <summary>The form and type, as messages name it ("OrderTotalsProcessor", "key grain ICustomerGrain").</summary>
    public string Description { get; init; } = processorType.Name;

    /// <summary>True for an <see cref="IBatchProcessor{TKey, TValue}"/>: it takes a whole delivery at once.</summary>
    public bool IsBatch { get; init; }

    /// <summary>True for an <see cref="IStatefulProcessor{TState}"/>: its state is stored with the offset.</summary>
    public bool IsStateful { get; init; }

    /// <summary>True when records travel to other grains (key grains, streams), so their values must be serializable and records run key-ordered.</summary>
    public bool SendsToGrains { get; init; }

    /// <summary>A fresh pipeline for one partition of <paramref name="group"/>, its processor resolved from <paramref name="services"/>.</summary>
    public ProcessorPipeline CreatePipeline(IServiceProvider services, string group) => createPipeline(services, group);

    /// <summary>A record or batch processor class, resolved from DI for each partition.</summary>
    /// <exception cref="ArgumentException"><paramref name="processorType"/> implements neither processor interface.</exception>
    public static ProcessorRegistration ForProcessor(string name, Type processorType)
    {
        var contract = Contract(processorType, typeof(IBatchProcessor<,>)) ?? Contract(processorType, typeof(IRecordProcessor<,>))
            ?? throw new ArgumentException(
                $"Processor '{name}' has type {processorType.FullName}, which implements neither IRecordProcessor<TKey, TValue> nor IBatchProcessor<TKey, TValue>.",
                nameof(processorType));
        var arguments = contract.GetGenericArguments();
        var isBatch = contract.GetGenericTypeDefinition() == typeof(IBatchProcessor<,>);
        var factory = (IPipelineFactory)Activator.CreateInstance(
            (isBatch ? typeof(BatchPipelineFactory<,>) : typeof(RecordPipelineFactory<,>)).MakeGenericType(arguments))!;
        return new ProcessorRegistration(name, processorType, arguments[0], arguments[1], (services, group) =>
        {
            var processor = services.GetRequiredService(processorType);
            var pipeline = factory.Create(processor, services, group);
            pipeline.State = ProcessorStateAccess.For(processor);
            return pipeline;
        })
        {
            IsBatch = isBatch,
            IsStateful = Contract(processorType, typeof(IStatefulProcessor<>)) is not null,
        };
    }

    /// <summary>The closed generic interface of <paramref name="generic"/> that <paramref name="type"/> implements, if any.</summary>
    public static Type? Contract(Type type, Type generic) =>
        type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);

    private interface IPipelineFactory
    {
        ProcessorPipeline Create(object processor, IServiceProvider services, string group);
    }

    private sealed class RecordPipelineFactory<TKey, TValue> : IPipelineFactory
    {
        public ProcessorPipeline Create(object processor, IServiceProvider services, string group) =>
            new RecordPipeline<TKey, TValue>((IRecordProcessor<TKey, TValue>)processor, RecordDecoder<TKey>.Create(services), RecordDecoder<TValue>.Create(services), group);
    }

    private sealed class BatchPipelineFactory<TKey, TValue> : IPipelineFactory
    {
        public ProcessorPipeline Create(object processor, IServiceProvider services, string group) =>
            new BatchPipeline<TKey, TValue>((IBatchProcessor<TKey, TValue>)processor, RecordDecoder<TKey>.Create(services), RecordDecoder<TValue>.Create(services), group);
    }
}
