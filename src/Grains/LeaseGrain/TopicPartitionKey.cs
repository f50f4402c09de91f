namespace OrleansKafka.LeaseGrain;

/// <summary>A partition of a topic, as the lease grain tracks it.</summary>
internal readonly record struct TopicPartitionKey(string Topic, int Partition) : IComparable<TopicPartitionKey>
{
    public int CompareTo(TopicPartitionKey other)
    {
        var byTopic = string.CompareOrdinal(Topic, other.Topic);
        return byTopic != 0 ? byTopic : Partition.CompareTo(other.Partition);
    }

    public override string ToString() => $"{Topic}[{Partition}]";
}
