using System.Text.Json;

namespace OrleansKafka.Processing.State;

/// <summary>Reads and sets the state of one <see cref="IStatefulProcessor{TState}"/> instance as JSON.</summary>
internal abstract class ProcessorStateAccess
{
    protected static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Gives the processor the stored state, or a new one for null.</summary>
    public abstract void Load(string? json);

    /// <summary>The processor's state now.</summary>
    public abstract string Save();

    public static ProcessorStateAccess? For(object processor)
    {
        var contract = processor.GetType().GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IStatefulProcessor<>));
        return contract is null ? null
            : (ProcessorStateAccess)Activator.CreateInstance(typeof(Typed<>).MakeGenericType(contract.GetGenericArguments()), processor)!;
    }

    private sealed class Typed<TState>(IStatefulProcessor<TState> processor) : ProcessorStateAccess
        where TState : class, new()
    {
        public override void Load(string? json) =>
            processor.State = json is null ? new TState() : JsonSerializer.Deserialize<TState>(json, Json) ?? new TState();

        public override string Save() => JsonSerializer.Serialize(processor.State, Json);
    }
}
