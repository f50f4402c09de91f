using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.KeyHolds;

namespace OrleansKafka.Tests.Partitions;

/// <summary>
/// What a key-ordered partition completed past its commit, carried in Kafka's commit metadata
/// (issue 25): encoded within the broker's limit, read back by the next owner, which does not run
/// those records again.
/// </summary>
public sealed class CompletedAheadTests
{
    [Fact]
    public void Encode_IsRelativeToTheCommitAndDecodesToTheSameRanges()
    {
        var completed = new CompletedOffsets();
        foreach (var offset in new long[] { 5, 6, 7, 8, 9, 11, 12, 13, 100 })
        {
            completed.Add(offset);
        }

        var text = completed.Encode(3, CommitNote.MaxDoneChars);

        Assert.Equal("2+5.1+3.86+1", text);
        Assert.Equal([(5L, 10L), (11L, 14L), (100L, 101L)], CompletedOffsets.Decode(3, text));
    }

    [Fact]
    public void Encode_PastTheLimit_KeepsTheRangesNearestTheCommit_AndDecodesToThem()
    {
        var completed = new CompletedOffsets();
        for (var offset = 0L; offset < 20_000; offset += 2)
        {
            completed.Add(offset + 1);
        }

        var text = completed.Encode(0, 100)!;
        var ranges = CompletedOffsets.Decode(0, text);

        Assert.True(text.Length <= 100, text);
        Assert.Equal(Enumerable.Range(0, ranges.Count).Select(i => (2L * i + 1, 2L * i + 2)), ranges);
        Assert.True(ranges.Count > 10);
        Assert.True(new CommitNote(long.MaxValue, -1, completed.Encode(0, CommitNote.MaxDoneChars)).ToString().Length <= 4096);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("1+")]
    [InlineData("1+0")]
    [InlineData("-1+2")]
    [InlineData("1+2.3")]
    [InlineData("1+2.0+3")]
    [InlineData("0+2")]
    [InlineData("1+4611686018427387903")]
    public void Decode_TextThatIsNotAMap_IsNoRanges(string text) => Assert.Empty(CompletedOffsets.Decode(10, text));

    [Fact]
    public void CommitNote_CarriesTheMap_AndANoteWithoutOneStillReads()
    {
        var note = new CommitNote(12, -1, "1+49.1+999");
        Assert.Equal("orleans-kafka/1 epoch=12 done=1+49.1+999", note.ToString());
        Assert.Equal(note, CommitNote.Parse(note.ToString()));
        Assert.Equal(new CommitNote(12, 4711), CommitNote.Parse("orleans-kafka/1 epoch=12 checkpoint=4711"));
    }

    [Fact]
    public async Task ANewLease_DoesNotRunWhatTheCommitNoteSaysWasCompleted()
    {
        var pipeline = ScriptedPipeline.Succeeding();
        var harness = new RunHarness(pipeline, new ProcessorOptions { Order = ProcessingOrder.Key }, keyOrdered: true);
        harness.Lease.MarkCommitted(0);
        harness.Committed = (0, new CommitNote(1, -1, "1+2"));

        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "d", "e")));

        Assert.Equal([0L, 3L, 4L], pipeline.Units.Select(u => u.Single()).Order());
        Assert.Equal(5, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task ANoteOfAnotherOffset_IsNotTaken()
    {
        var pipeline = ScriptedPipeline.Succeeding();
        var harness = new RunHarness(pipeline, new ProcessorOptions { Order = ProcessingOrder.Key }, keyOrdered: true);
        harness.Lease.MarkCommitted(0);
        harness.Committed = (2, new CommitNote(1, -1, "1+2"));

        await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "d", "e"));

        Assert.Equal(5, pipeline.Units.Count);
    }

    [Fact]
    public async Task WhileAKeyIsHeld_TheLeaseCarriesWhatCompletedPastIt_ForTheCommit()
    {
        var pipeline = new ScriptedPipeline((record, _) => record.Offset.Value == 1 ? throw new InvalidOperationException("bad") : Task.CompletedTask);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, Order = ProcessingOrder.Key, OnFailure = FailureAction.HoldKey }, keyOrdered: true);
        harness.Checkpoint.NextOffset = 0;

        await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "d", "e"));

        Assert.Equal(1, harness.Lease.ProcessedOffset);
        Assert.Equal("1+3", harness.Lease.CompletedAheadOf(1)?.Ranges);
        Assert.True(harness.Lease.CompletedAheadUncommitted(1));
        Assert.False(harness.Lease.CompletedAheadUncommitted(2));
        harness.Lease.MarkCommitted(1, harness.Lease.CompletedAheadOf(1));
        Assert.False(harness.Lease.CompletedAheadUncommitted(1));

        // A seek, to the same offset too, replays from there: no map goes with the next commit (review).
        harness.Lease.StoreCompletedAhead(1, "1+4");
        harness.Lease.SeekTo(1);
        Assert.Null(harness.Lease.CompletedAheadOf(1));
        Assert.False(harness.Lease.CompletedAheadUncommitted(1));
    }
}
