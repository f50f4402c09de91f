using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Silo.Demo;

/// <summary>The headers the demo's forwarders add to say where a record came from and who processed it.</summary>
internal static class ProvenanceHeaders
{
    public static void Add(Headers headers, string topic, int partition, long offset, byte[] silo, long leaseEpoch)
    {
        headers.Add("x-source-topic", Encoding.UTF8.GetBytes(topic));
        headers.Add("x-source-partition", Encoding.UTF8.GetBytes(partition.ToString(CultureInfo.InvariantCulture)));
        headers.Add("x-source-offset", Encoding.UTF8.GetBytes(offset.ToString(CultureInfo.InvariantCulture)));
        headers.Add("x-silo", silo);
        headers.Add("x-lease-epoch", Encoding.UTF8.GetBytes(leaseEpoch.ToString(CultureInfo.InvariantCulture)));
    }
}
