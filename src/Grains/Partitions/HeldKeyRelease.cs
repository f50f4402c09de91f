using Microsoft.Extensions.Logging;
using OrleansKafka.Configuration;
using OrleansKafka.KeyGrains;
using OrleansKafka.KeyHolds;
using OrleansKafka.Leases;

namespace OrleansKafka.Partitions;

/// <summary>
/// Carries out an operator's decision on a held key (<see cref="FailureAction.HoldKey"/>) within a
/// delivery, as that key's chain: the held record as decided, then the key's waiting records in
/// order; a record that fails for good holds the key again, there.
/// </summary>
internal sealed partial class HeldKeyRelease(string grainKey, RecordRunner runner, HeldKeys heldKeys, KeyOrderFrontier frontier, PartitionProgress progress, ILogger logger)
{
    /// <summary>Releases <paramref name="key"/>; grain calls stop only when <paramref name="callToken"/> fires.</summary>
    public async Task RunAsync(HeldKey key, LocalLease lease, CancellationToken callToken)
    {
        var taken = key.Decision!;
        key.Decision = null;
        var head = key.Waiting[0];
        var headDone = false;
        try
        {
            runner.HoldDecided(key, taken.Decision);
            var failure = taken.Decision is HoldDecision.Skip or HoldDecision.DeadLetter
                ? key.Failure
                : await runner.RunAsync([head], 0, 1, lease, callToken);
            if (failure is not null)
            {
                var action = RecordRunner.ActionOf(taken.Decision) ?? runner.OnFailure;
                if (action == FailureAction.HoldKey || !await runner.GiveUpAsync(head, failure, action, lease))
                {
                    // An automatic retry counts on from the attempts before it; an operator's starts again.
                    failure = taken.Automatic ? failure with { Attempts = key.Failure.Attempts + failure.Attempts } : failure;
                    headDone = true;
                    await runner.HoldKeyAsync(heldKeys, heldKeys.Hold(key.Chain, head, failure, runner.Now, runner.RetryAtFor(failure)), head);
                    return;
                }

                // Stored at once, and until the commit passes it: a restart must not run it (and hold) again.
                heldKeys.Resolved(head.Offset.Value);
                headDone = true;
                await runner.SaveKeyHoldsAsync(heldKeys);
            }

            headDone = true;
            if (await RunWaitingAsync(key, lease, callToken))
            {
                heldKeys.Release(key);
            }

            await runner.SaveKeyHoldsAsync(heldKeys);
        }
        catch (OperationCanceledException) when (lease.Token.IsCancellationRequested || callToken.IsCancellationRequested)
        {
            // The lease ended: the key stays held where it stands, and its records are fetched again by the next owner.
            key.Decision ??= headDone ? null : taken;
        }
        catch (StaleLeaseEpochException ex)
        {
            // A newer owner of the partition exists: it carries on from the committed offset.
            key.Decision ??= headDone ? null : taken;
            LogSuperseded(logger, ex, grainKey, key.FirstOffset, lease.Epoch);
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
                await runner.HoldKeyAsync(heldKeys, heldKeys.Hold(key.Chain, next, failure, runner.Now, runner.RetryAtFor(failure)), next);
                return false;
            }
        }
    }

    [LoggerMessage(EventId = 1409, Level = LogLevel.Warning, Message = "Partition {GrainKey}: a grain refused a record of the key held at offset {Offset} as sent under lease epoch {Epoch}; the key stays held for the newer owner")]
    private static partial void LogSuperseded(ILogger logger, Exception exception, string grainKey, long offset, long epoch);
}
