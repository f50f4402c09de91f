using Microsoft.Extensions.Logging.Abstractions;
using OrleansKafka.Hosting;

namespace OrleansKafka.Tests.Hosting;

public sealed class ThreadPoolFloorTests
{
    [Fact]
    public void Raise_AboveTheCurrentMinimum_RaisesIt_NeverLowersIt_AndZeroLeavesItAlone()
    {
        // Process-wide: the test cluster's silos raise it too, so this works from whatever it is now.
        ThreadPool.GetMinThreads(out var before, out var completionPorts);

        Assert.Equal(before, ThreadPoolFloor.Raise(before + 1, NullLogger.Instance));
        ThreadPool.GetMinThreads(out var raised, out var completionPortsAfter);
        Assert.Equal(before + 1, raised);
        Assert.Equal(completionPorts, completionPortsAfter);

        Assert.Null(ThreadPoolFloor.Raise(before, NullLogger.Instance));
        Assert.Null(ThreadPoolFloor.Raise(0, NullLogger.Instance));
        ThreadPool.GetMinThreads(out var after, out _);
        Assert.Equal(before + 1, after);
    }
}
