using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.LeaseGrain;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.LeaseGrain;

/// <summary>
/// The fence that keeps two activations of one lease grain (the grain directory allows them for a
/// while) from both answering heartbeats, over one record with real ETag semantics, on a fake clock.
/// </summary>
public sealed class LeaseFenceTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly SharedRecord<LeaseFenceRecord> _store = new();

    [Fact]
    public async Task ASecondActivation_TakesTheNextGeneration_AndTheFirstStopsAnsweringAtItsNextRenewal_ForGood()
    {
        var first = Fence();
        await first.TakeAsync();
        await first.RenewAsync();
        Assert.True(first.IsValid);

        var second = Fence();
        await second.TakeAsync();
        Assert.Equal((1L, 2L), (first.Generation, second.Generation));
        Assert.True(second.IsValid);

        await first.RenewAsync();
        Assert.True(first.IsLost);
        Assert.False(first.IsValid);

        // Nothing brings it back, and the newer one renews on.
        await first.RenewAsync();
        await second.RenewAsync();
        Assert.False(first.IsValid);
        Assert.True(second.IsValid);
        Assert.Equal(2, _store.Stored.Generation);
    }

    [Fact]
    public async Task AStoreThatFails_KeepsTheFenceForItsValidity_CountedFromTheLastWriteSent_ThenNot_UntilAWriteSucceeds()
    {
        var fence = Fence();
        await fence.TakeAsync();
        _store.Failing = new TimeoutException("the store did not answer");

        _time.Advance(LeaseFence.Validity - TimeSpan.FromMilliseconds(1));
        await fence.RenewAsync();
        Assert.True(fence.IsValid);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(fence.IsValid);
        Assert.False(fence.IsLost);

        _store.Failing = null;
        await fence.RenewAsync();
        Assert.True(fence.IsValid);
    }

    [Fact]
    public async Task AFenceGoneStale_IsWrittenBeforeAnAnswer_SoALateTimerRefusesNothingTheStoreAllows()
    {
        var fence = Fence();
        await fence.TakeAsync();
        _time.Advance(LeaseFence.Validity);
        Assert.False(fence.IsValid);

        Assert.True(await fence.EnsureValidAsync());
        Assert.Equal(2, _store.Writes);

        // Not when another activation took the fence meanwhile.
        await Fence().TakeAsync();
        _time.Advance(LeaseFence.Validity);
        Assert.False(await fence.EnsureValidAsync());
        Assert.True(fence.IsLost);
    }

    [Fact]
    public async Task RenewalsAtOnce_WriteOneAtATime_NeverRefusingEachOther()
    {
        var fence = Fence();
        await fence.TakeAsync();
        _store.Slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The timer's renewal and a heartbeat's, while the store is slow.
        var timer = fence.RenewAsync();
        _time.Advance(LeaseFence.Validity);
        var heartbeat = fence.EnsureValidAsync().AsTask();
        _store.Slow.SetResult();
        await timer;

        // The heartbeat joined the timer's write, which was sent too long ago to count, then wrote
        // once more, after it: three writes in all, one at a time, none refused.
        Assert.True(await heartbeat);
        Assert.False(fence.IsLost);
        Assert.Equal(3, _store.Writes);
    }

    [Fact]
    public async Task AnActivationThatCannotTakeTheFence_DoesNotStart()
    {
        _store.Failing = new TimeoutException("the store did not answer");

        await Assert.ThrowsAsync<TimeoutException>(() => Fence().TakeAsync());
    }

    private LeaseFence Fence() => new(_store.View(), _time, "billing", NullLogger.Instance);
}
