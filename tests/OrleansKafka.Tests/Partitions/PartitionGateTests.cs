using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Partitions;
using OrleansKafka.Processing.Failures;

namespace OrleansKafka.Tests.Partitions;

public sealed class PartitionGateTests
{
    private readonly FakeTimeProvider _time = new();
    private bool _paused;

    [Fact]
    public void TryPass_NotHolding_PassesWithoutDecision()
    {
        var gate = Gate();

        Assert.True(gate.TryPass(5, out var decided));
        Assert.Null(decided);
    }

    [Fact]
    public void TryPass_HeldRecordUndecided_WaitsForItOnly()
    {
        var gate = Gate();
        gate.HoldAt(Record(5), new RecordFailure(new InvalidOperationException("bad"), 3));

        Assert.False(gate.TryPass(5, out _));
        Assert.True(gate.TryPass(4, out var other));
        Assert.Null(other);
    }

    [Fact]
    public void TryPass_HeldRecordDecided_PassesOnceWithTheDecisionAndTheFailure_ThenHoldsNoMore()
    {
        var gate = Gate();
        var failure = new RecordFailure(new InvalidOperationException("bad"), 3);
        gate.HoldAt(Record(5), failure);
        gate.Decide(HoldDecision.DeadLetter, "silo-a");

        Assert.True(gate.TryPass(5, out var decided));
        Assert.Equal((HoldDecision.DeadLetter, failure), decided);
        Assert.Null(gate.Held);
        Assert.True(gate.TryPass(5, out var again));
        Assert.Null(again);
    }

    [Fact]
    public void IsStopped_FollowsThePauseAndTheSeek_AndANewLeaseEndsTheSeekButNotTheHold()
    {
        var gate = Gate();
        Assert.False(gate.IsStopped);
        _paused = true;
        Assert.True(gate.IsStopped);
        _paused = false;
        gate.Seeking = true;
        gate.HoldAt(Record(1), new RecordFailure(new InvalidOperationException("bad"), 1));
        Assert.True(gate.IsStopped);

        gate.Reset();

        Assert.False(gate.IsStopped);
        Assert.Equal(1, gate.Held?.Offset);
        Assert.False(gate.TryPass(1, out _));
    }

    private PartitionGate Gate() => new("g/t/0", () => _paused, _time, NullLogger.Instance);

    private static ConsumeResult<byte[], byte[]> Record(long offset) => RunHarness.Records(offset, "k")[0];
}
