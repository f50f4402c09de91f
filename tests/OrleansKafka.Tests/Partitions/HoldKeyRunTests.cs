using System.Collections.Concurrent;
using System.Text;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Partitions;

namespace OrleansKafka.Tests.Partitions;

/// <summary>
/// <see cref="FailureAction.HoldKey"/> in the key-order run, without a cluster: only the failing
/// key waits, the commit stays below its held record, an operator's decision releases its records
/// in order, the waiting records are bounded, and a later activation holds the key again.
/// </summary>
public sealed class HoldKeyRunTests
{
    private static ProcessorOptions HoldKey => Options(ProcessorOptions.DefaultMaxWaitingRecords);

    [Fact]
    public async Task AKeysRecordFailsForGood_OnlyThatKeyWaits_TheCommitStaysBelowIt_AndASkipRunsTheRestInOrder()
    {
        var script = new KeyScript("b");
        var harness = new RunHarness(script.Pipeline, HoldKey, keyOrdered: true);

        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "b", "a")));
        Assert.Equal([0L, 2L, 4L], script.Completed("a", "c"));
        Assert.Empty(script.Completed("b"));
        var held = Assert.Single(harness.HeldKeys.All);
        Assert.Equal((1L, 2, "b"), (held.FirstOffset, held.Waiting.Count, held.Key));
        Assert.Equal(1, harness.Lease.ProcessedOffset);
        Assert.Equal(1, Assert.Single(harness.Control.Stored.KeyHolds).FirstOffset);

        // The next delivery: the other keys go on, b's record waits behind the others; the commit stays.
        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(RunHarness.Records(5, "c", "b", "a")));
        Assert.Equal([0L, 2L, 4L, 5L, 7L], script.Completed("a", "c"));
        Assert.Equal(3, harness.HeldKeys.Waiting);
        Assert.Equal(1, harness.Lease.ProcessedOffset);

        script.Fixed = true;
        harness.DecideKey(1, HoldDecision.Skip);
        await harness.ReleaseAsync();

        Assert.Equal([3L, 6L], script.Completed("b"));
        Assert.Equal(1, script.Runs(1));
        Assert.Empty(harness.HeldKeys.All);
        Assert.Empty(harness.Control.Stored.KeyHolds);
        Assert.Equal(8, harness.Lease.ProcessedOffset);
        Assert.Equal(1, harness.Progress.Skipped);
    }

    [Fact]
    public async Task ARetryThatFailsAgain_HoldsTheKeyAgainAtTheSameRecord_AndOneThatSucceeds_RunsItFirst()
    {
        var script = new KeyScript("b");
        var harness = new RunHarness(script.Pipeline, HoldKey, keyOrdered: true);
        await harness.DeliverAsync(RunHarness.Records(0, "b", "a", "b"));
        var since = Assert.Single(harness.HeldKeys.All).Since;
        harness.Time.Advance(TimeSpan.FromSeconds(20));

        harness.DecideKey(0, HoldDecision.Retry);
        await harness.ReleaseAsync();
        var again = Assert.Single(harness.HeldKeys.All);
        Assert.Equal((0L, 2, since + TimeSpan.FromSeconds(20)), (again.FirstOffset, again.Waiting.Count, again.Since));
        Assert.Equal(2, script.Runs(0));
        Assert.Equal(0, harness.Lease.ProcessedOffset);

        script.Fixed = true;
        harness.DecideKey(0, HoldDecision.Retry);
        await harness.ReleaseAsync();
        Assert.Equal([0L, 2L], script.Completed("b"));
        Assert.Empty(harness.HeldKeys.All);
        Assert.Equal(3, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task ALaterRecordOfAReleasedKeyFails_TheKeyHoldsThere_AndTheCommitMovesUpToIt()
    {
        var script = new KeyScript("b");
        var harness = new RunHarness(script.Pipeline, HoldKey, keyOrdered: true);
        await harness.DeliverAsync(RunHarness.Records(0, "b", "a", "b", "b"));

        // Retried: offset 0 now succeeds, offset 2 fails for good and holds the key there.
        script.FailingOffsets.Add(2);
        script.Fixed = true;
        harness.DecideKey(0, HoldDecision.Retry);
        await harness.ReleaseAsync();

        var held = Assert.Single(harness.HeldKeys.All);
        Assert.Equal((2L, 2), (held.FirstOffset, held.Waiting.Count));
        Assert.Equal([0L], script.Completed("b"));
        Assert.Equal(2, harness.Lease.ProcessedOffset);
        Assert.Equal(2, Assert.Single(harness.Control.Stored.KeyHolds).FirstOffset);
    }

    [Fact]
    public async Task TooManyRecordsWait_ThePartitionStopsThere_AndGoesOnOnceTheKeyIsReleased()
    {
        var script = new KeyScript("b");
        var harness = new RunHarness(script.Pipeline, Options(maxWaiting: 2), keyOrdered: true);
        var records = RunHarness.Records(0, "b", "a", "b", "b", "c");

        Assert.Equal(DeliveryOutcome.Held, await harness.DeliverAsync(records));
        Assert.Equal(3, harness.HeldKeys.FullAt);
        Assert.Equal(2, harness.HeldKeys.Waiting);
        Assert.Empty(script.Completed("c"));
        var status = PartitionStatusReport.Build(RunHarness.GrainKey, "silo-1", harness.Lease, harness.Gate, harness.HeldKeys, harness.Progress, null, null);
        Assert.Equal((PartitionState.Holding, -1L), (status.State, status.HeldOffset));
        Assert.Contains("MaxWaitingRecords 2", status.LastError, StringComparison.Ordinal);
        Assert.Contains("from offset 3 on", status.LastError, StringComparison.Ordinal);

        script.Fixed = true;
        harness.DecideKey(0, HoldDecision.Skip);
        await harness.ReleaseAsync();

        // The feed sends the same delivery again: nothing runs twice, the rest runs.
        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(records));
        Assert.Equal([2L, 3L], script.Completed("b"));
        Assert.Equal([1L, 4L], script.Completed("a", "c"));
        Assert.Equal(5, harness.Lease.ProcessedOffset);
        Assert.Null(harness.HeldKeys.FullAt);
        Assert.All(Enumerable.Range(1, 4), o => Assert.Equal(1, script.Runs(o)));
    }

    [Fact]
    public async Task ALaterActivation_HoldsTheStoredKeyAgain_WithoutRunningItsHeldRecord_AndASkipBeforeARestartIsNotUndone()
    {
        var script = new KeyScript("b", "d");
        var first = new RunHarness(script.Pipeline, HoldKey, keyOrdered: true);
        var records = RunHarness.Records(0, "b", "a", "d", "b", "c");
        await first.DeliverAsync(records);
        Assert.Equal(2, first.HeldKeys.Count);
        first.DecideKey(2, HoldDecision.Skip);
        await first.ReleaseAsync();
        Assert.Equal(0, first.Lease.ProcessedOffset);

        // A later activation (a restart, a move) with the stored control state: fetched again from the commit.
        var second = new RunHarness(script.Pipeline, HoldKey, keyOrdered: true, control: first.Control);
        Assert.Equal(DeliveryOutcome.Completed, await second.DeliverAsync(records));

        var held = Assert.Single(second.HeldKeys.All);
        Assert.Equal(("b", 0L, 2), (held.Key, held.FirstOffset, held.Waiting.Count));
        Assert.Equal((1, 2), (second.Telemetry.HeldKeyCount, second.Telemetry.RecordsWaiting));

        // A new lease: what waited is fetched again, and the gauges say so at once (the review:
        // a lease coming back to a silo showed that silo's old numbers until its next run).
        second.Run.Reset();
        Assert.Equal((1, 0), (second.Telemetry.HeldKeyCount, second.Telemetry.RecordsWaiting));
        Assert.Equal(1, script.Runs(0));
        Assert.Equal(1, script.Runs(2));
        Assert.Equal(0, second.Lease.ProcessedOffset);
        Assert.Contains("bad key b", held.Failure.Error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The processor's retries of a held key run by themselves, with backoff on the grain's clock,
    /// while the other keys go on (the delivery does not wait for them): a nudge brings the delivery
    /// that tries again; once they are used up, the key waits for an operator.
    /// </summary>
    [Theory]
    [InlineData(2, true)]
    [InlineData(int.MaxValue, false)]
    public async Task AFailingKeysRetries_RunLaterByThemselves_WhileTheOtherKeysGoOn(int failures, bool succeeds)
    {
        var script = new KeyScript("b") { FailuresLeft = failures };
        var options = Options(ProcessorOptions.DefaultMaxWaitingRecords);
        options.MaxAttempts = 3;
        options.FirstRetryDelay = TimeSpan.FromMilliseconds(100);
        var harness = new RunHarness(script.Pipeline, options, keyOrdered: true);

        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(RunHarness.Records(0, "b", "a", "b", "a")));
        Assert.Equal([1L, 3L], script.Completed("a"));
        var held = Assert.Single(harness.HeldKeys.All);
        var since = held.Since;
        Assert.Equal((1, harness.Time.GetUtcNow() + TimeSpan.FromMilliseconds(100)), (held.Failure.Attempts, held.RetryAt));
        Assert.Equal(0, harness.Nudges);

        harness.Time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, harness.Nudges);
        await harness.ReleaseAsync();
        Assert.Equal((2, harness.Time.GetUtcNow() + TimeSpan.FromMilliseconds(200), since), (held.Failure.Attempts, held.RetryAt, held.Since));

        harness.Time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(2, harness.Nudges);
        await harness.ReleaseAsync();
        if (succeeds)
        {
            Assert.Equal([0L, 2L], script.Completed("b"));
            Assert.Empty(harness.HeldKeys.All);
            Assert.Equal(4, harness.Lease.ProcessedOffset);
        }
        else
        {
            Assert.Equal((3, (DateTimeOffset?)null), (held.Failure.Attempts, held.RetryAt));
            harness.Time.Advance(TimeSpan.FromMinutes(5));
            Assert.Equal(2, harness.Nudges);
            Assert.Equal(3, script.Runs(0));
            Assert.Equal(0, harness.Lease.ProcessedOffset);
        }
    }

    private static ProcessorOptions Options(int maxWaiting) =>
        new() { MaxAttempts = 1, Order = ProcessingOrder.Key, OnFailure = FailureAction.HoldKey, MaxWaitingRecords = maxWaiting };

    /// <summary>A processor that fails for good on some keys until fixed, and records what ran.</summary>
    private sealed class KeyScript
    {
        private readonly ConcurrentQueue<(string Key, long Offset, bool Ok)> _runs = new();

        public KeyScript(params string[] failingKeys)
        {
            Pipeline = new ScriptedPipeline((record, _) =>
            {
                var key = Encoding.UTF8.GetString(record.Message.Key);
                var fails = FailingOffsets.Contains(record.Offset.Value) || (!Fixed && failingKeys.Contains(key) && FailuresLeft-- > 0);
                _runs.Enqueue((key, record.Offset.Value, !fails));
                return fails ? throw new InvalidOperationException($"bad key {key}") : Task.CompletedTask;
            });
        }

        public ScriptedPipeline Pipeline { get; }

        public bool Fixed { get; set; }

        /// <summary>How many more runs of the failing keys fail.</summary>
        public int FailuresLeft { get; set; } = int.MaxValue;

        public HashSet<long> FailingOffsets { get; } = [];

        /// <summary>The offsets of these keys that completed, in the order they did.</summary>
        public List<long> Completed(params string[] keys) => [.. _runs.Where(r => r.Ok && keys.Contains(r.Key)).Select(r => r.Offset)];

        public int Runs(long offset) => _runs.Count(r => r.Offset == offset);
    }
}
