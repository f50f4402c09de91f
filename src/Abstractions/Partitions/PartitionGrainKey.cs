using System.Globalization;

namespace OrleansKafka.Partitions;

/// <summary>Formats and parses partition grain keys: <c>group/topic/partition</c>.</summary>
/// <remarks>Kafka topic names cannot contain '/', so the last two separators are unambiguous even when a group name has one.</remarks>
internal static class PartitionGrainKey
{
    /// <summary>The key of the grain for a partition of a topic within a consumer group.</summary>
    public static string Format(string group, string topic, int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"{group}/{topic}/{partition}");

    /// <summary>Splits a key into group, topic and partition.</summary>
    /// <exception cref="FormatException">The key is not <c>group/topic/partition</c>.</exception>
    public static (string Group, string Topic, int Partition) Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var last = key.LastIndexOf('/');
        var middle = last > 0 ? key.LastIndexOf('/', last - 1) : -1;
        if (middle <= 0 || last == key.Length - 1 || last - middle < 2
            || !int.TryParse(key.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            throw new FormatException($"Partition grain key '{key}' is not of the form 'group/topic/partition' with a non-negative partition number.");
        }

        return (key[..middle], key[(middle + 1)..last], partition);
    }
}
