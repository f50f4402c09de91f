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

    public void Decided(string grainKey) =>
        _signals.GetOrAdd(grainKey, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
