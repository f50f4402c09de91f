using System.Collections.Concurrent;

namespace OrleansKafka.Delivery;

/// <summary>
/// Wakes the fetch path of a partition that is holding a record once an operator has decided
/// about it; the feed then sends the held delivery again and the grain applies the decision.
/// Silo-local: the feed and the partition grain both live on the lease holder.
/// </summary>
internal sealed class HoldSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);

    /// <summary>Completes when <see cref="Decided"/> is called for the partition, also if it was called first.</summary>
    public async Task WaitAsync(string grainKey, CancellationToken cancellationToken)
    {
        var signal = _signals.GetOrAdd(grainKey, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await signal.Task.WaitAsync(cancellationToken);
        _signals.TryRemove(new KeyValuePair<string, TaskCompletionSource>(grainKey, signal));
    }

    private readonly ConcurrentDictionary<string, Action> _nudges = new(StringComparer.Ordinal);

    /// <summary>
    /// An operator decided (or resumed): wakes a feed waiting on a hold, and nudges an idle one
    /// (<see cref="Listen"/>) to send a delivery without records, in which the grain carries out
    /// decisions about held keys.
    /// </summary>
    public void Decided(string grainKey)
    {
        _signals.GetOrAdd(grainKey, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        if (_nudges.TryGetValue(grainKey, out var nudge))
        {
            nudge();
        }
    }

    /// <summary>The partition's feed listens for decisions while it runs: <paramref name="nudge"/> is called at each, until disposed.</summary>
    public IDisposable Listen(string grainKey, Action nudge)
    {
        _nudges[grainKey] = nudge;
        return new Listening(this, grainKey, nudge);
    }

    private sealed class Listening(HoldSignals signals, string grainKey, Action nudge) : IDisposable
    {
        public void Dispose() => signals._nudges.TryRemove(new KeyValuePair<string, Action>(grainKey, nudge));
    }
}
