using OrleansKafka.KeyHolds;

namespace OrleansKafka.Partitions;

/// <summary>
/// An operator's decision about a key the partition holds: checked, and noted on the key; the
/// key-order run carries it out in the next delivery (<see cref="HeldKeyRelease"/>), which the
/// feed sends without records if none come.
/// </summary>
internal sealed class KeyHoldCommand(string grainKey, string silo, HeldKeys heldKeys, TimeProvider time)
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
}
