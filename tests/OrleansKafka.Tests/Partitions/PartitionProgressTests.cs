using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Partitions;

namespace OrleansKafka.Tests.Partitions;

public sealed class PartitionProgressTests
{
    [Fact]
    public void RecordsPerSecond_CountsOverTheLastTenSeconds_OnTheInjectedClock()
    {
        var time = new FakeTimeProvider();
        var progress = new PartitionProgress(time);
        progress.Sample();
        Assert.Equal(0, progress.RecordsPerSecond());

        for (var second = 0; second < 20; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            progress.Completed(second < 10 ? 100 : 10);
            progress.Sample();
        }

        // Only the last ten seconds, at 10 a second, count: the early 100 a second have left the window.
        Assert.InRange(progress.RecordsPerSecond(), 9.0, 11.0);
    }

    [Fact]
    public void Failed_ThenEnded_ShowsTheErrorButNoRetryUnderWay()
    {
        var progress = new PartitionProgress(new FakeTimeProvider());
        progress.Started(4);
        progress.Failed(new InvalidOperationException("bad"), 2);
        Assert.Equal(2, progress.RetryAttempt);

        progress.Ended();
        progress.Idle();

        Assert.Equal(0, progress.RetryAttempt);
        Assert.Equal(-1, progress.InFlightOffset);
        Assert.Equal("InvalidOperationException: bad", progress.LastError);
    }
}
