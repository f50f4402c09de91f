using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Partitions;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Partitions;

/// <summary>The key-order run without a cluster: keys at once, each in order, the contiguous commit, holds and what completed beyond them.</summary>
public sealed class KeyOrderRunTests
{
    [Fact]
    public async Task RunAsync_SlowKey_OtherKeysGoOn_ButTheNextOffsetWaitsForIt()
    {
        var releaseA = new TaskCompletionSource();
        var finished = new List<long>();
        var pipeline = new ScriptedPipeline(async (record, _) =>
        {
            if (record.Offset.Value == 0)
            {
                await releaseA.Task;
            }

            lock (finished)
            {
                finished.Add(record.Offset.Value);
            }
        });
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, Order = ProcessingOrder.Key }, keyOrdered: true);

        var run = harness.DeliverAsync(RunHarness.Records(0, "a", "b", "a", "b"));
        Assert.True(await Poll.UntilAsync(() => finished.Count == 2, TimeSpan.FromSeconds(5)));

        // Key b ran both its records while key a's first waits, and a's second waits behind it.
        Assert.Equal([1L, 3L], finished);
        releaseA.SetResult();
        Assert.Equal(DeliveryOutcome.Completed, await run);
        Assert.Equal([1L, 3L, 0L, 2L], finished);
        Assert.Equal(4, harness.Lease.ProcessedOffset);
        Assert.Equal(4, harness.Progress.Processed);
    }

    [Fact]
    public async Task RunAsync_HoldsAtAKey_CommitsOnlyTheContiguousPrefix_AndDoesNotRunCompletedRecordsAgain()
    {
        var failing = true;
        var pipeline = new ScriptedPipeline(async (record, _) =>
        {
            if (failing && record.Offset.Value == 1)
            {
                // Fails a turn later, so that records of other keys start meanwhile.
                await Task.Yield();
                throw new InvalidOperationException("bad");
            }
        });
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, Order = ProcessingOrder.Key, OnFailure = FailureAction.Hold }, keyOrdered: true);
        var records = RunHarness.Records(0, "a", "b", "c", "b");

        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));
        Assert.Equal(1, harness.Gate.Held?.Offset);
        Assert.Equal(1, harness.Lease.ProcessedOffset);
        Assert.Contains(pipeline.Units, u => u.Single() == 2);

        failing = false;
        harness.Gate.Decide(HoldDecision.Retry, "silo-a");
        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(records));

        // Offset 2 (key c) completed while 1 held; the resent delivery does not run it again, and 3 (key b) ran only after 1.
        var runs = pipeline.Units.Select(u => u.Single()).ToList();
        Assert.Single(runs, o => o == 2);
        Assert.Equal(2, runs.Count(o => o == 1));
        Assert.True(runs.LastIndexOf(1) < runs.IndexOf(3));
        Assert.Equal(4, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task RunAsync_PausedBeforeTheHeldRecordStarts_KeepsTheOperatorsDecisionAndTheHold()
    {
        // The decision about a held record is taken up when that record starts, not when the
        // delivery is planned: paused before it, the partition still holds there, decided.
        var pipeline = new ScriptedPipeline((record, _) => record.Offset.Value == 1 ? throw new InvalidOperationException("bad") : Task.CompletedTask);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, Order = ProcessingOrder.Key, OnFailure = FailureAction.Hold }, keyOrdered: true);
        var records = RunHarness.Records(0, "a", "b", "c");
        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));
        harness.Gate.Decide(HoldDecision.Skip, "silo-a");

        harness.Paused = true;
        await harness.DeliverAsync(records);

        Assert.Equal(1, harness.Gate.Held?.Offset);
        Assert.True(harness.Gate.HasDecision, "the operator's skip was used up by a delivery that never started the record");

        harness.Paused = false;
        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(records));
        Assert.Null(harness.Gate.Held);
        Assert.Equal(3, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task RunAsync_ManyKeys_RunsAtMostMaxInFlightAtOnce()
    {
        var running = 0;
        var most = 0;
        var pipeline = new ScriptedPipeline(async (_, _) =>
        {
            most = Math.Max(most, Interlocked.Increment(ref running));
            await Task.Yield();
            Interlocked.Decrement(ref running);
        });
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, Order = ProcessingOrder.Key, MaxInFlight = 3 }, keyOrdered: true);

        var outcome = await harness.DeliverAsync(RunHarness.Records(0, [.. Enumerable.Range(0, 20).Select(i => $"k{i}")]));

        Assert.Equal(DeliveryOutcome.Completed, outcome);
        Assert.Equal(3, most);
        Assert.Equal(20, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task Reset_ANewLease_ForgetsWhatCompletedBeyondTheCommit()
    {
        var pipeline = new ScriptedPipeline(async (record, _) =>
        {
            if (record.Offset.Value == 0)
            {
                await Task.Yield();
                throw new InvalidOperationException("bad");
            }
        });
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, Order = ProcessingOrder.Key }, keyOrdered: true);
        var records = RunHarness.Records(0, "a", "b");
        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));
        Assert.Equal(1, pipeline.Units.Count(u => u.Single() == 1));

        // What a new lease does: the run starts clean, so once the operator skipped offset 0 the
        // completed offset 1 runs again under it (the hold itself outlives the lease).
        harness.Gate.Reset();
        harness.Run.Reset();
        harness.Gate.Decide(HoldDecision.Skip, "silo-a");
        await harness.DeliverAsync(records);

        Assert.Equal(2, pipeline.Units.Count(u => u.Single() == 1));
    }
}
