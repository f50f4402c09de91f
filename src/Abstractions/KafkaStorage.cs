namespace OrleansKafka;

/// <summary>The grain storage OrleansKafka keeps its state in.</summary>
public static class KafkaStorage
{
    /// <summary>
    /// The name of the grain storage that holds partition control, processor state and key grain
    /// state: in-memory storage unless the silo registers another under this name (the silo host
    /// uses Redis or PostgreSQL next to its clustering choice).
    /// </summary>
    public const string Name = "orleans-kafka";
}
