using OrleansKafka.Configuration;

namespace OrleansKafka.Processing;

/// <summary>A registered processor bound to its configured topic and group.</summary>
internal sealed record ProcessorBinding(ProcessorRegistration Registration, ProcessorOptions Options)
{
    public string Name => Registration.Name;

    public string Topic => Options.Topic!;

    public string Group => Options.Group!;

    /// <summary>Records of different keys run concurrently: <see cref="ProcessingOrder.Key"/>, and always for key grains and streams.</summary>
    public bool KeyOrdered => Options.Order == ProcessingOrder.Key || Registration.SendsToGrains;
}
