using OrleansKafka.Partitions;

namespace OrleansKafka.Tests.Partitions;

public sealed class PartitionGrainKeyTests
{
    [Theory]
    [InlineData("g", "t", 0)]
    [InlineData("team/billing", "orders.v2", 11)]
    public void Parse_FormattedKey_RoundTrips(string group, string topic, int partition) =>
        Assert.Equal((group, topic, partition), PartitionGrainKey.Parse(PartitionGrainKey.Format(group, topic, partition)));

    [Theory]
    [InlineData("")]
    [InlineData("g/t")]
    [InlineData("g/t/x")]
    [InlineData("g/t/-1")]
    [InlineData("/t/1")]
    [InlineData("g//1")]
    public void Parse_Malformed_ThrowsNamingTheKey(string key)
    {
        var error = Assert.Throws<FormatException>(() => PartitionGrainKey.Parse(key));
        Assert.Contains($"'{key}'", error.Message);
    }
}
