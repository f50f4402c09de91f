using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Partitions;

namespace OrleansKafka.Tests.Partitions;

/// <summary>The offset-order run without a cluster: one unit after another, holds, operator decisions, batches narrowed to the failing record.</summary>
public sealed class OffsetOrderRunTests
{
    [Fact]
    public async Task RunAsync_AllSucceed_RunsInOffsetOrder_AndStoresTheNextOffset()
    {
        var pipeline = ScriptedPipeline.Succeeding();
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1 });

        var outcome = await harness.DeliverAsync(RunHarness.Records(10, "a", "b", "a"));

        Assert.Equal(DeliveryOutcome.Completed, outcome);
        Assert.Equal([10L, 11L, 12L], pipeline.Units.SelectMany(u => u));
        Assert.Equal(13, harness.Checkpoint.NextOffset);
        Assert.Equal(13, harness.Lease.ProcessedOffset);
        Assert.Equal(3, harness.Progress.Processed);
        Assert.Equal(-1, harness.Progress.InFlightOffset);
    }

    [Fact]
    public async Task RunAsync_RecordFailsUnderHold_HoldsAtIt_CommitsWhatCameBefore_AndSkipsItOnceDecided()
    {
        var pipeline = new ScriptedPipeline((record, _) => record.Offset.Value == 11 ? throw new InvalidOperationException("bad") : Task.CompletedTask);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, OnFailure = FailureAction.Hold });
        var records = RunHarness.Records(10, "a", "b", "c");

        var first = await harness.DeliverAsync(records);

        Assert.Equal(DeliveryOutcome.Held, first);
        Assert.Equal(11, harness.Gate.Held?.Offset);
        Assert.Equal(11, harness.Lease.ProcessedOffset);
        Assert.Contains("bad", harness.Progress.LastError, StringComparison.Ordinal);

        // Sent again before anyone decided: still held, nothing runs.
        var runs = pipeline.Units.Count;
        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));
        Assert.Equal(runs, pipeline.Units.Count);

        harness.Gate.Decide(HoldDecision.Skip, "silo-a");
        var second = await harness.DeliverAsync(records);

        Assert.Equal(DeliveryOutcome.Completed, second);
        Assert.Null(harness.Gate.Held);
        Assert.Equal(1, harness.Progress.Skipped);
        Assert.Equal(13, harness.Lease.ProcessedOffset);
        Assert.Equal(1, harness.Commits);
        Assert.Equal([10L, 11L, 12L], pipeline.Units.SelectMany(u => u));
    }

    [Fact]
    public async Task RunAsync_Holding_StoresTheHold_WhichALaterActivationRestores_AndTheDecisionClears()
    {
        var pipeline = new ScriptedPipeline((record, _) => record.Offset.Value == 1 ? throw new InvalidOperationException("bad") : Task.CompletedTask);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1 });
        var records = RunHarness.Records(0, "a", "b", "c");
        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));

        var stored = harness.Control.Stored.Hold;
        Assert.NotNull(stored);
        Assert.Equal((1L, typeof(InvalidOperationException).FullName, "bad", 1, "b"), (stored.Offset, stored.ErrorType, stored.ErrorMessage, stored.Attempts, stored.Key));

        // A later activation (the grain restores it on activation) holds at the same record without running it.
        var later = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1 });
        later.Gate.Restore(stored.ToHeld());
        var runs = pipeline.Units.Count;
        Assert.Equal(DeliveryOutcome.Held, await later.DeliverAsync(records));
        Assert.Equal(runs + 1, pipeline.Units.Count);
        Assert.Equal("InvalidOperationException: bad", later.Gate.Held?.Failure.Describe());

        harness.Gate.Decide(HoldDecision.Skip, "silo-a");
        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(records));
        Assert.Null(harness.Control.Stored.Hold);
    }

    [Fact]
    public async Task RunAsync_HeldRecordRetriedByOperator_RunsItAgain()
    {
        var failing = true;
        var pipeline = new ScriptedPipeline((record, _) => failing && record.Offset.Value == 10 ? throw new InvalidOperationException("bad") : Task.CompletedTask);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1 });
        var records = RunHarness.Records(10, "a", "b");
        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));

        failing = false;
        harness.Gate.Decide(HoldDecision.Retry, "silo-a");

        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(records));
        Assert.Equal([10L, 10L, 11L], pipeline.Units.SelectMany(u => u));
        Assert.Equal(0, harness.Progress.Skipped);
    }

    [Fact]
    public async Task RunAsync_BatchFailsPartWay_NarrowsToOneRecordAtATime_AndAppliesThePolicyToTheFailingRecordAlone()
    {
        var pipeline = new ScriptedPipeline((record, _) => record.Offset.Value == 2 ? throw new InvalidOperationException("bad") : Task.CompletedTask, batch: true);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, OnFailure = FailureAction.Skip });

        var outcome = await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "d"));

        Assert.Equal(DeliveryOutcome.Completed, outcome);
        Assert.Equal(
            ["0,1,2,3", "0", "1", "2", "3"],
            pipeline.Units.Select(u => string.Join(',', u)));
        Assert.Equal(1, harness.Progress.Skipped);
        Assert.Equal(4, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task RunAsync_Paused_StartsNothing()
    {
        var pipeline = ScriptedPipeline.Succeeding();
        var harness = new RunHarness(pipeline, new ProcessorOptions()) { Paused = true };

        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(RunHarness.Records(0, "a")));
        Assert.Empty(pipeline.Units);
        Assert.Equal(-1, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task RunAsync_LeaseRevokedMidRecord_Stops_AndStoresOnlyWhatCompleted()
    {
        RunHarness harness = null!;
        var pipeline = new ScriptedPipeline(async (record, token) =>
        {
            if (record.Offset.Value == 1)
            {
                harness.Lease.Revoke();
                await Task.Delay(Timeout.Infinite, token);
            }
        });
        harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1 });

        var outcome = await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c"));

        Assert.Equal(DeliveryOutcome.Stopped, outcome);
        Assert.Equal(1, harness.Lease.ProcessedOffset);
        Assert.Equal(1, harness.Progress.Processed);
    }
}
