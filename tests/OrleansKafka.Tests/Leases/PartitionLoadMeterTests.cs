using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Leases;

namespace OrleansKafka.Tests.Leases;

public sealed class PartitionLoadMeterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Sample_KeepingUp_CostsSecondsPerRecordTimesTheRecordsArriving()
    {
        var meter = new PartitionLoadMeter(_time);
        Assert.Null(meter.Sample(highWatermark: 0, nextOffset: 0));

        // 200 records arrive a second; each takes 2 ms: the partition is busy 40 % of the time.
        var high = 0L;
        for (var second = 0; second < 30; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            high += 200;
            meter.Delivered(200, TimeSpan.FromMilliseconds(400));
            var figures = meter.Sample(high, high);
            Assert.NotNull(figures);
            Assert.Equal(0.4, figures.Value.Cost, 3);
            Assert.Equal(200, figures.Value.RecordsPerSecond, 3);
            Assert.Equal(0, figures.Value.Lag);
        }
    }

    [Fact]
    public void Sample_WithLag_AddsTheLagClearedWithinTheCatchUpWindow()
    {
        var meter = new PartitionLoadMeter(_time);
        meter.Sample(highWatermark: 6000, nextOffset: 0);

        // Nothing new arrives; 1 ms a record, 6,000 behind: 100 records a second for a minute, 0.1 busy.
        _time.Advance(TimeSpan.FromSeconds(1));
        meter.Delivered(10, TimeSpan.FromMilliseconds(10));
        var figures = meter.Sample(6000, 10);

        Assert.NotNull(figures);
        Assert.Equal(5990, figures.Value.Lag);
        Assert.Equal(0.001 * 5990 / PartitionLoadMeter.CatchUpWindow.TotalSeconds, figures.Value.Cost, 6);
    }

    [Fact]
    public void Sample_NothingProcessedYet_IdleCostsNothing_WaitingRecordsAreUnknown()
    {
        var idle = new PartitionLoadMeter(_time);
        var waiting = new PartitionLoadMeter(_time);
        idle.Sample(100, 100);
        waiting.Sample(100, 0);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, idle.Sample(100, 100)?.Cost);
        Assert.Null(waiting.Sample(100, 0));
        Assert.Null(waiting.LastCost);
    }

    [Fact]
    public void Sample_ALoadThatDoubles_ShowsMostOfTheChangeAfterTheSmoothingTime()
    {
        var meter = new PartitionLoadMeter(_time);
        meter.Sample(0, 0);
        var high = 0L;
        double Second(int records)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            high += records;
            meter.Delivered(records, TimeSpan.FromMilliseconds(records));
            return meter.Sample(high, high)!.Value.Cost;
        }

        for (var i = 0; i < 30; i++)
        {
            Second(100);
        }

        var first = Second(200);
        for (var i = 1; i < PartitionLoadMeter.Smoothing.TotalSeconds; i++)
        {
            Second(200);
        }

        var after = Second(200);
        Assert.InRange(first, 0.1, 0.12);
        Assert.InRange(after, 0.1 + (0.1 * 0.6), 0.2);
    }

    [Fact]
    public void Sample_AStoppedPartition_KeepsItsCost_HoweverItsLagGrows()
    {
        // Paused or holding: records arrive, none is processed; its lag is no demand another silo could serve.
        var meter = new PartitionLoadMeter(_time);
        meter.Sample(0, 0);
        _time.Advance(TimeSpan.FromSeconds(1));
        meter.Delivered(100, TimeSpan.FromMilliseconds(100));
        var before = meter.Sample(100, 100)!.Value.Cost;

        var high = 100L;
        for (var second = 0; second < 30; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            high += 1000;
            Assert.Equal(before, meter.Sample(high, 100)!.Value.Cost);
        }
    }
}
