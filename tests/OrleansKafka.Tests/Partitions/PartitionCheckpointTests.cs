using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Committing;
using OrleansKafka.Configuration;
using OrleansKafka.Delivery;
using OrleansKafka.Leases;
using OrleansKafka.Partitions;
using OrleansKafka.Processing;
using OrleansKafka.Processing.State;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Partitions;

/// <summary>The checkpoint without a cluster: state and offset stored in one write, a failed write rolled back and the partition restarted.</summary>
public sealed class PartitionCheckpointTests
{
    [Fact]
    public async Task StoreAsync_WithState_WritesStateAndOffsetTogether_ThenMarksTheOffsetProcessed()
    {
        var (harness, processor) = Stateful();
        Assert.True(await harness.Checkpoint.LoadAsync(0, harness.Lease));
        processor.State.Count = 3;
        harness.Checkpoint.NextOffset = 3;

        Assert.True(await harness.Checkpoint.StoreAsync(harness.Lease));

        Assert.Equal(3, harness.Stored.Stored.NextOffset);
        Assert.Contains("\"count\":3", harness.Stored.Stored.State, StringComparison.Ordinal);
        Assert.Equal(3, harness.Lease.ProcessedOffset);
    }

    [Fact]
    public async Task StoreAsync_WriteFails_RollsBack_CommitsNothing_AndRestartsThePartition()
    {
        var (harness, processor) = Stateful();
        Assert.True(await harness.Checkpoint.LoadAsync(0, harness.Lease));
        processor.State.Count = 3;
        harness.Checkpoint.NextOffset = 3;
        harness.Stored.FailNextWrite = new InvalidOperationException("ETag mismatch");

        Assert.False(await harness.Checkpoint.StoreAsync(harness.Lease));

        Assert.Equal(-1, harness.Stored.State.NextOffset);
        Assert.Null(harness.Stored.State.State);
        Assert.Equal(-1, harness.Lease.ProcessedOffset);
        Assert.Equal(OwnershipReason.Start, Assert.Single(harness.Holders.Restarts).Reason);

        // Until the state is loaded again under a lease, nothing more is committed.
        Assert.False(await harness.Checkpoint.StoreAsync(harness.Lease));
        Assert.True(harness.Checkpoint.MustLoad(harness.Lease));
    }

    [Fact]
    public async Task LoadAsync_StoredState_StartsAtItsOffset_AndKafkasOffsetCatchesUp()
    {
        var (harness, processor) = Stateful();
        harness.Stored.State = new ProcessorCheckpoint { NextOffset = 7, State = "{\"count\":7}" };
        await harness.Stored.WriteStateAsync();

        Assert.True(await harness.Checkpoint.LoadAsync(0, harness.Lease));

        Assert.Equal(7, processor.State.Count);
        Assert.Equal(7, harness.Checkpoint.NextOffset);
        Assert.Equal(7, harness.Lease.ProcessedOffset);
        Assert.False(harness.Checkpoint.MustLoad(harness.Lease));
    }

    [Fact]
    public async Task StatefulRun_RecordsRunAfterTheStoredOffsetOnly()
    {
        var (harness, _) = Stateful();
        harness.Stored.State = new ProcessorCheckpoint { NextOffset = 2, State = "{\"count\":2}" };
        await harness.Stored.WriteStateAsync();
        Assert.True(await harness.Checkpoint.LoadAsync(0, harness.Lease));

        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "d")));

        Assert.Equal(4, harness.Stored.Stored.NextOffset);
        Assert.Contains("\"count\":4", harness.Stored.Stored.State, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatefulBatch_FailingPartWay_AppliesEachGoodRecordToTheStateOnce()
    {
        // A batch processor that adds records as it goes, and throws at offset 2: the records
        // before it are run again one at a time, on the state as it was before the batch.
        var processor = new CountingProcessor();
        var pipeline = new ScriptedPipeline(
            (record, _) =>
            {
                if (record.Offset.Value == 2)
                {
                    throw new InvalidOperationException("bad");
                }

                processor.State.Count++;
                return Task.CompletedTask;
            },
            batch: true);
        var harness = new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1, OnFailure = FailureAction.Skip }, state: ProcessorStateAccess.For(processor));
        Assert.True(await harness.Checkpoint.LoadAsync(0, harness.Lease));

        Assert.Equal(DeliveryOutcome.Completed, await harness.DeliverAsync(RunHarness.Records(0, "a", "b", "c", "d", "e")));

        Assert.Equal(4, processor.State.Count);
        Assert.Equal(5, harness.Stored.Stored.NextOffset);
        Assert.Contains("\"count\":4", harness.Stored.Stored.State, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoOwnersStoringOneCheckpoint_TheOneWhoseReadIsStale_IsRefused_CommitsNothing_AndRestarts()
    {
        // The old owner (epoch 1) loaded the row, then its lease moved on while it was still
        // working (a stall); the new owner (epoch 2) loaded the same row and stored first.
        var store = new SharedRecord<ProcessorCheckpoint>();
        var time = new FakeTimeProvider();
        var (oldLease, newLease) = (Lease(1, time), Lease(2, time));
        var (oldHolders, newHolders) = (new RecordingHolders(), new RecordingHolders());
        var (oldState, newState) = (new CountingProcessor(), new CountingProcessor());
        var old = Checkpoint(store, oldHolders, oldState);
        var @new = Checkpoint(store, newHolders, newState);
        Assert.True(await old.LoadAsync(0, oldLease));
        Assert.True(await @new.LoadAsync(0, newLease));

        (newState.State.Count, @new.NextOffset) = (5, 5);
        Assert.True(await @new.StoreAsync(newLease));
        (oldState.State.Count, old.NextOffset) = (3, 3);
        Assert.False(await old.StoreAsync(oldLease));

        // The store kept the new owner's state and offset; the old one marked nothing processed.
        Assert.Equal((5L, "{\"count\":5}"), (store.Stored.NextOffset, store.Stored.State));
        Assert.Equal(-1, oldLease.ProcessedOffset);
        Assert.Equal(5, newLease.ProcessedOffset);
        Assert.Single(oldHolders.Restarts);
        Assert.Empty(newHolders.Restarts);
    }

    private static LocalLease Lease(long epoch, TimeProvider time) => new(RunHarness.Group, new TopicPartition(RunHarness.Topic, 0), epoch, long.MaxValue, time);

    private static PartitionCheckpoint Checkpoint(SharedRecord<ProcessorCheckpoint> store, RecordingHolders holders, CountingProcessor processor) =>
        new(RunHarness.GrainKey, store.View(), new CommitFlusher(), holders, new PartitionGate(RunHarness.GrainKey, () => false, TimeProvider.System, NullLogger.Instance), NullLogger.Instance) { State = ProcessorStateAccess.For(processor) };

    private static (RunHarness Harness, CountingProcessor Processor) Stateful()
    {
        var processor = new CountingProcessor();
        var pipeline = new ScriptedPipeline((_, _) =>
        {
            processor.State.Count++;
            return Task.CompletedTask;
        });
        return (new RunHarness(pipeline, new ProcessorOptions { MaxAttempts = 1 }, state: ProcessorStateAccess.For(processor)), processor);
    }

    public sealed class Counts
    {
        public int Count { get; set; }
    }

    private sealed class CountingProcessor : IStatefulProcessor<Counts>
    {
        public Counts State { get; set; } = new();
    }
}
