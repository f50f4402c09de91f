using OrleansKafka.Configuration;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// Carries out operators' decisions on held keys (<see cref="FailureAction.HoldKey"/>) whose held
/// record is here: each key's waiting records run in order, the held one as decided; a record
/// that fails for good holds the key again, there.
/// </summary>
internal sealed class HeldKeyRelease(RecordRunner runner, HeldKeys heldKeys, KeyOrderFrontier frontier, PartitionProgress progress)
{
    /// <summary>Releases every decided key whose records wait; grain calls stop only when <paramref name="callToken"/> fires.</summary>
    public async Task RunAsync(LocalLease lease, CancellationToken callToken)
    {
        foreach (var key in heldKeys.All.Where(k => k.Decision is not null && k.Waiting.Count > 0).ToList())
        {
            var decision = key.Decision!.Decision;
            key.Decision = null;
            var head = key.Waiting[0];
            runner.HoldDecided(key, decision);
            var failure = decision is HoldDecision.Skip or HoldDecision.DeadLetter
                ? key.Failure
                : await runner.RunAsync([head], 0, 1, lease, callToken);
            if (failure is not null)
            {
                var action = RecordRunner.ActionOf(decision) ?? runner.OnFailure;
                if (action == FailureAction.HoldKey || !await runner.GiveUpAsync(head, failure, action, lease))
                {
                    await runner.HoldKeyAsync(heldKeys, heldKeys.Hold(key.Chain, head, failure, runner.Now), head);
                    continue;
                }

                // Remembered until the commit passes it: a restart must not run it (and hold) again.
                heldKeys.Resolved(head.Offset.Value);
            }

            if (await RunWaitingAsync(key, lease, callToken))
            {
                heldKeys.Release(key);
            }

            await runner.SaveKeyHoldsAsync(heldKeys);
        }
    }

    /// <summary>The key's first waiting record is done; the others run in order. True when none waits any more.</summary>
    private async Task<bool> RunWaitingAsync(HeldKey key, LocalLease lease, CancellationToken callToken)
    {
        while (true)
        {
            frontier.Completed(key.Waiting[0].Offset.Value);
            heldKeys.Done(key);
            progress.Ended();
            progress.Completed(1);
            if (key.Waiting.Count == 0)
            {
                return true;
            }

            if (!lease.IsCurrent)
            {
                return false;
            }

            var next = key.Waiting[0];
            if (await runner.RunAsync([next], 0, 1, lease, callToken) is { } failure
                && (runner.OnFailure == FailureAction.HoldKey || !await runner.GiveUpAsync(next, failure, runner.OnFailure, lease)))
            {
                await runner.HoldKeyAsync(heldKeys, heldKeys.Hold(key.Chain, next, failure, runner.Now), next);
                return false;
            }
        }
    }
}
