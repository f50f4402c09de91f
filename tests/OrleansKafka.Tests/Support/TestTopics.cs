using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Support;

internal static class TestTopics
{
    /// <summary>Produces <paramref name="perPartition"/> records to each partition, values "p{partition}-{sequence}".</summary>
    public static Task ProduceSequencesAsync(this KafkaTestCluster cluster, string topic, int partitions, int perPartition) =>
        Task.WhenAll(Enumerable.Range(0, partitions).Select(p =>
            cluster.ProduceAsync(topic, Enumerable.Range(0, perPartition).Select(i => ((string?)$"k{i}", (string?)$"p{p}-{i}")), p)));
}
