using Microsoft.Extensions.Logging;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// An operator's decision about a key the partition holds: checked, noted on the key, and
/// carried out by the key-order run between deliveries (<see cref="KeyOrderRun.ReleaseAsync"/>).
/// </summary>
internal sealed partial class KeyHoldCommand(string grainKey, string silo, HeldKeys heldKeys, TimeProvider time, ILogger logger)
{
    /// <summary>Notes <paramref name="decision"/> on the key held at <paramref name="offset"/>.</summary>
    /// <exception cref="InvalidOperationException">No key is held there, the decision is not one, or one is being carried out; nothing was changed.</exception>
    public void Decide(long offset, HoldDecision decision)
    {
        if (!Enum.IsDefined(decision))
        {
            throw new InvalidOperationException($"{decision} is not a decision; expected Retry, Skip or DeadLetter. Nothing was changed.");
        }

        if (heldKeys.AtOffset(offset) is not { } key)
        {
            var held = heldKeys.Count == 0 ? "none" : string.Join(", ", heldKeys.All.Select(k => $"{k.Key} at {k.FirstOffset}"));
            throw new InvalidOperationException($"Partition {grainKey} holds no key at offset {offset} (held: {held}); nothing was changed.");
        }

        if (key.Decision is { } taken)
        {
            throw new InvalidOperationException($"Partition {grainKey}: key {key.Key} at offset {offset} is being released already ({taken.Decision} on silo {taken.Silo}); nothing was changed.");
        }

        key.Decision = new HoldDecisionTaken(decision, silo, time.GetUtcNow());
    }

    /// <summary>
    /// Carries the decisions out after <paramref name="previous"/> (the delivery running now, which
    /// may carry them out itself). Never fails: what went wrong is logged, and the key stays held.
    /// </summary>
    public async Task ReleaseAfterAsync(Task previous, KeyOrderRun? run, LocalLease lease)
    {
        await previous;
        try
        {
            if (run is not null && lease.IsCurrent)
            {
                await run.ReleaseAsync(lease);
            }
        }
        catch (Exception ex)
        {
            LogReleaseFailed(logger, ex, grainKey);
        }
    }

    [LoggerMessage(EventId = 1408, Level = LogLevel.Error, Message = "Partition {GrainKey}: carrying out an operator's decision about a held key failed; the key stays held")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string grainKey);
}
