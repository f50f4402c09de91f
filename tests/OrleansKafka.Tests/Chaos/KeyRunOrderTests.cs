using OrleansKafka.Bench.Chaos;

namespace OrleansKafka.Tests.Chaos;

/// <summary>The chaos harness's order rule for one key under one lease epoch.</summary>
public sealed class KeyRunOrderTests
{
    private static List<long> Breaks(params long[] starts)
    {
        var order = new KeyRunOrder();
        return [.. starts.Where(o => !order.Start(o))];
    }

    [Fact]
    public void InOrder_AndARetryOfTheRecordJustStarted_KeepTheOrder()
    {
        Assert.Empty(Breaks(1, 2, 2, 3, 5));
    }

    [Fact]
    public void ARecordFirstStartedBelowOneAlreadyStarted_BreaksIt()
    {
        Assert.Equal([2L], Breaks(1, 3, 2, 4));
    }

    [Fact]
    public void AUnitResentAfterItsSiloFroze_ReplaysTheKeyInOrder_AndKeepsIt()
    {
        // Seen in the stream form: 296 and 304 ran on the silo that then froze; the sender sent the
        // unit again to the grain's new activation, which ran both again; then the key went on.
        var order = new KeyRunOrder();
        Assert.All(new long[] { 296, 304, 296, 304, 312 }, o => Assert.True(order.Start(o), $"offset {o}"));
        Assert.Null(order.ReplayExpects);
    }

    [Fact]
    public void AStaleCallRunningAfterTheKeysNextRecords_BreaksIt()
    {
        // The call of 296 and 304 queued at a frozen silo runs after the thaw, when 312 has run
        // elsewhere; the key then goes on with 320: the replay skipped 312.
        Assert.Equal([320L], Breaks(296, 304, 312, 296, 304, 320));
    }

    [Fact]
    public void AStaleCallAfterTheKeysLastRecord_LeavesAReplayShortOfWhatTheKeyReached()
    {
        var order = new KeyRunOrder();
        foreach (var offset in new long[] { 296, 304, 312, 296, 304 })
        {
            order.Start(offset);
        }

        Assert.Equal(312, order.ReplayExpects);
    }
}
