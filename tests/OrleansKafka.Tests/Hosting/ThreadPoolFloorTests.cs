using Microsoft.Extensions.Logging.Abstractions;
using OrleansKafka.Configuration;
using OrleansKafka.Hosting;

namespace OrleansKafka.Tests.Hosting;

public sealed class ThreadPoolFloorTests
{
    [Fact]
    public void Raise_AboveTheCurrentMinimum_RaisesIt_NeverLowersIt_AndZeroLeavesItAlone()
    {
        // Process-wide, and the test clusters' silos raise it to the default meanwhile: aim above
        // anything they set, so a silo starting in parallel cannot change the outcome.
        ThreadPool.GetMinThreads(out var before, out var completionPorts);
        var target = Math.Max(before, KafkaProcessingOptions.DefaultMinThreadPoolThreads) + 1;

        var raisedFrom = ThreadPoolFloor.Raise(target, NullLogger.Instance);
        Assert.NotNull(raisedFrom);
        Assert.True(raisedFrom < target, $"reported raising from {raisedFrom} to {target}");
        ThreadPool.GetMinThreads(out var raised, out var completionPortsAfter);
        Assert.Equal(target, raised);
        Assert.Equal(completionPorts, completionPortsAfter);

        Assert.Null(ThreadPoolFloor.Raise(target - 1, NullLogger.Instance));
        Assert.Null(ThreadPoolFloor.Raise(0, NullLogger.Instance));
        ThreadPool.GetMinThreads(out var after, out _);
        Assert.Equal(target, after);
    }
}
