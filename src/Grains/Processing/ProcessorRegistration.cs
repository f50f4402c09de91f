using Microsoft.Extensions.DependencyInjection;

namespace OrleansKafka.Processing;

/// <summary>A processor type registered in code under a name, and how to build its pipeline.</summary>
internal sealed class ProcessorRegistration
{
    private readonly Type _pipelineType;

    public ProcessorRegistration(string name, Type processorType)
    {
        Name = name;
        ProcessorType = processorType;
        var contract = processorType.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IBatchProcessor<,>))
            ?? processorType.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRecordProcessor<,>))
            ?? throw new ArgumentException(
                $"Processor '{name}' has type {processorType.FullName}, which implements neither IRecordProcessor<TKey, TValue> nor IBatchProcessor<TKey, TValue>.",
                nameof(processorType));
        var arguments = contract.GetGenericArguments();
        var pipeline = contract.GetGenericTypeDefinition() == typeof(IBatchProcessor<,>) ? typeof(BatchPipeline<,>) : typeof(RecordPipeline<,>);
        _pipelineType = pipeline.MakeGenericType(arguments);
        IsBatch = pipeline == typeof(BatchPipeline<,>);
        KeyType = arguments[0];
        ValueType = arguments[1];
    }

    public string Name { get; }

    public Type ProcessorType { get; }

    /// <summary>True for an <see cref="IBatchProcessor{TKey, TValue}"/>.</summary>
    public bool IsBatch { get; }

    public Type KeyType { get; }

    public Type ValueType { get; }

    /// <summary>Resolves a fresh processor from DI and wraps it for one partition.</summary>
    public ProcessorPipeline CreatePipeline(IServiceProvider services, string group)
    {
        var processor = services.GetRequiredService(ProcessorType);
        var keys = Activator.CreateInstance(typeof(DecoderFactory<>).MakeGenericType(KeyType)) as IDecoderFactory;
        var values = Activator.CreateInstance(typeof(DecoderFactory<>).MakeGenericType(ValueType)) as IDecoderFactory;
        return (ProcessorPipeline)Activator.CreateInstance(_pipelineType, processor, keys!.Create(services), values!.Create(services), group)!;
    }

    private interface IDecoderFactory
    {
        object Create(IServiceProvider services);
    }

    private sealed class DecoderFactory<T> : IDecoderFactory
    {
        public object Create(IServiceProvider services) => RecordDecoder<T>.Create(services);
    }
}
