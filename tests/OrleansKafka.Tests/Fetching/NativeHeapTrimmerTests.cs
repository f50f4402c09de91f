using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Fetching;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Fetching;

public sealed class NativeHeapTrimmerTests
{
    [Fact]
    public async Task Trims_OnceEachIntervalOnTheInjectedClock()
    {
        var time = new FakeTimeProvider();
        await using var trimmer = new NativeHeapTrimmer(TimeSpan.FromSeconds(5), time, NullLogger<NativeHeapTrimmer>.Instance);
        trimmer.Start();

        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, trimmer.Trims);
        for (var tick = 1; tick <= 3; tick++)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            var expected = tick;
            Assert.True(await Poll.UntilAsync(() => trimmer.Trims == expected, TimeSpan.FromSeconds(10)), $"after {tick} intervals the heap was trimmed {trimmer.Trims} times");
        }
    }

    [Fact]
    public async Task ZeroInterval_NeverTrims()
    {
        var time = new FakeTimeProvider();
        await using var trimmer = new NativeHeapTrimmer(TimeSpan.Zero, time, NullLogger<NativeHeapTrimmer>.Instance);
        trimmer.Start();

        time.Advance(TimeSpan.FromMinutes(1));

        Assert.False(await Poll.UntilAsync(() => trimmer.Trims > 0, TimeSpan.FromMilliseconds(300)), "trimmed with the interval at zero");
    }
}
