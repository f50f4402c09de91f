using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.KeyGrains;
using OrleansKafka.Processing.State;
using OrleansKafka.Streams;

namespace OrleansKafka.Processing;

/// <summary>A processor registered in code under a name, and how to build its pipeline.</summary>
/// <remarks>Four forms: a record processor, a batch processor (classes from DI), a key grain (a grain interface), or a Kafka stream provider (<see cref="StreamSource{TValue}"/>).</remarks>
internal sealed class ProcessorRegistration
{
    private readonly Type _pipelineType;

    public ProcessorRegistration(string name, Type processorType)
    {
        Name = name;
        ProcessorType = processorType;
        if (processorType.IsGenericType && processorType.GetGenericTypeDefinition() == typeof(StreamSource<>))
        {
            IsStream = true;
            _pipelineType = typeof(StreamPipeline<>).MakeGenericType(processorType.GetGenericArguments());
            KeyType = typeof(string);
            ValueType = processorType.GetGenericArguments()[0];
            return;
        }

        if (KeyGrainValueType(processorType) is { } value)
        {
            IsKeyGrain = true;
            IntegerKeys = typeof(IGrainWithIntegerKey).IsAssignableFrom(processorType);
            if (!processorType.IsInterface || (!IntegerKeys && !typeof(IGrainWithStringKey).IsAssignableFrom(processorType)))
            {
                throw new ArgumentException(
                    $"Key grain '{name}' has type {processorType.FullName}; expected a grain interface that derives from IKafkaKeyGrain<TValue> and from IGrainWithStringKey or IGrainWithIntegerKey.",
                    nameof(processorType));
            }

            _pipelineType = typeof(KeyGrainPipeline<>).MakeGenericType(value);
            KeyType = typeof(string);
            ValueType = value;
            return;
        }

        var contract = Contract(processorType, typeof(IBatchProcessor<,>)) ?? Contract(processorType, typeof(IRecordProcessor<,>))
            ?? throw new ArgumentException(
                $"Processor '{name}' has type {processorType.FullName}, which implements neither IRecordProcessor<TKey, TValue> nor IBatchProcessor<TKey, TValue>.",
                nameof(processorType));
        var arguments = contract.GetGenericArguments();
        IsBatch = contract.GetGenericTypeDefinition() == typeof(IBatchProcessor<,>);
        _pipelineType = (IsBatch ? typeof(BatchPipeline<,>) : typeof(RecordPipeline<,>)).MakeGenericType(arguments);
        KeyType = arguments[0];
        ValueType = arguments[1];
        IsStateful = Contract(processorType, typeof(IStatefulProcessor<>)) is not null;
    }

    public string Name { get; }

    public Type ProcessorType { get; }

    /// <summary>True for an <see cref="IBatchProcessor{TKey, TValue}"/>.</summary>
    public bool IsBatch { get; }

    /// <summary>True for a key grain interface: records go to the grain of their key.</summary>
    public bool IsKeyGrain { get; }

    /// <summary>True for a Kafka stream provider: records go to the implicit subscribers of their stream.</summary>
    public bool IsStream { get; }

    /// <summary>For a Kafka stream provider: its name (<c>GetStreamProvider(name)</c>); several registrations (topics) may share one.</summary>
    public string? StreamProvider { get; init; }

    /// <summary>True when records travel to other grains (key grains, streams), so their values must be serializable.</summary>
    public bool SendsToGrains => IsKeyGrain || IsStream;

    /// <summary>True for a key grain with integer keys.</summary>
    public bool IntegerKeys { get; }

    /// <summary>True for an <see cref="IStatefulProcessor{TState}"/>: its state is stored with the offset.</summary>
    public bool IsStateful { get; }

    public Type KeyType { get; }

    public Type ValueType { get; }

    /// <summary>Resolves a fresh processor from DI (or the grain factory, for key grains) and wraps it for one partition.</summary>
    public ProcessorPipeline CreatePipeline(IServiceProvider services, string group)
    {
        var values = ((IDecoderFactory)Activator.CreateInstance(typeof(DecoderFactory<>).MakeGenericType(ValueType))!).Create(services);
        if (IsStream)
        {
            return (ProcessorPipeline)Activator.CreateInstance(_pipelineType, services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<ImplicitSubscribers>(), values, group, StreamProvider ?? Name, services.GetRequiredService<TimeProvider>())!;
        }

        if (IsKeyGrain)
        {
            return (ProcessorPipeline)Activator.CreateInstance(_pipelineType, services.GetRequiredService<IGrainFactory>(), ProcessorType, IntegerKeys, values, group, services.GetRequiredService<TimeProvider>())!;
        }

        var processor = services.GetRequiredService(ProcessorType);
        var keys = ((IDecoderFactory)Activator.CreateInstance(typeof(DecoderFactory<>).MakeGenericType(KeyType))!).Create(services);
        var pipeline = (ProcessorPipeline)Activator.CreateInstance(_pipelineType, processor, keys, values, group)!;
        pipeline.State = ProcessorStateAccess.For(processor);
        return pipeline;
    }

    private static Type? Contract(Type type, Type generic) =>
        type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);

    private static Type? KeyGrainValueType(Type type) =>
        (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IKafkaKeyGrain<>) ? type : Contract(type, typeof(IKafkaKeyGrain<>)))?.GetGenericArguments()[0];

    private interface IDecoderFactory
    {
        object Create(IServiceProvider services);
    }

    private sealed class DecoderFactory<T> : IDecoderFactory
    {
        public object Create(IServiceProvider services) => RecordDecoder<T>.Create(services);
    }
}
