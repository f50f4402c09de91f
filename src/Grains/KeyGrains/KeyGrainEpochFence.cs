using OrleansKafka.Leases;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// Fences key grains (and stream subscribers) by lease: a record is refused when it was sent under
/// a lease epoch older than one the grain activation has already seen for the same source
/// partition, so a stale owner's late call cannot overtake the new owner's records; and when this
/// silo knows the lease it was sent under has ended (<see cref="LeaseTable.HasEnded"/>), so a call
/// that a frozen silo had queued at its own grains does not run after the thaw, when a new owner
/// may have begun; and while this silo has just stood still (<see cref="SiloStallWatch"/>),
/// so that what was queued here while the cluster moved its grains elsewhere does not run twice.
/// Applies to every <see cref="IKafkaKeyGrain{TValue}"/> implementation, with or
/// without a base class.
/// </summary>
internal sealed class KeyGrainEpochFence(LeaseTable leases, SiloStallWatch stalls) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        // The record is the first argument of a key grain's ProcessAsync and of a stream delivery;
        // the records of a batch are admitted one by one as the batch runs them (KeyedBatches).
        if (context.Request.GetArgumentCount() >= 1 && context.Request.GetArgument(0) is KeyedRecord record)
        {
            Admit(context.TargetContext, record);
        }

        return context.Invoke();
    }

    /// <summary>Lets <paramref name="record"/> run at <paramref name="grain"/>, or throws why not.</summary>
    /// <exception cref="StaleLeaseEpochException">Sent under a lease that has ended, or older than one the grain has seen.</exception>
    /// <exception cref="SiloStalledException">This silo has just stood still; send it again.</exception>
    public void Admit(IGrainContext grain, KeyedRecord record) => Admit(grain, record, record.Source);

    /// <summary>Lets <paramref name="record"/> run at <paramref name="grain"/>, or throws why not.</summary>
    /// <param name="grain">The key grain (or stream subscriber) activation.</param>
    /// <param name="record">The record about to run.</param>
    /// <param name="source">The record's <see cref="KeyedRecord.Source"/>, built once for the records of a batch, which share it.</param>
    /// <exception cref="StaleLeaseEpochException">Sent under a lease that has ended, or older than one the grain has seen.</exception>
    /// <exception cref="SiloStalledException">This silo has just stood still; send it again.</exception>
    public void Admit(IGrainContext grain, KeyedRecord record, string source)
    {
        if (leases.HasEnded(source, record.LeaseEpoch))
        {
            throw new StaleLeaseEpochException(
                $"Key grain {grain.GrainId} refused offset {record.Offset} of {source}: it was sent under lease epoch {record.LeaseEpoch}, which this silo held and has ended (it ran out, was lost or given up); the sender no longer owns the partition.");
        }

        if (!stalls.MayRun)
        {
            throw new SiloStalledException(
                $"Key grain {grain.GrainId} did not run offset {record.Offset} of {source}: its silo has just stood still and has not yet confirmed it is still a member; send it again.");
        }

        var seen = grain.GetComponent<SeenEpochs>();
        if (seen is null)
        {
            seen = new SeenEpochs();
            grain.SetComponent(seen);
        }

        seen.Admit(record, source, grain.GrainId);
    }

    /// <summary>The highest lease epoch a key grain activation has seen, per source partition.</summary>
    private sealed class SeenEpochs
    {
        private readonly Dictionary<string, long> _highest = new(StringComparer.Ordinal);

        public void Admit(KeyedRecord record, string source, GrainId grain)
        {
            if (_highest.TryGetValue(source, out var highest) && record.LeaseEpoch < highest)
            {
                throw new StaleLeaseEpochException(
                    $"Key grain {grain} refused offset {record.Offset} of {source}: it was sent under lease epoch {record.LeaseEpoch}, and the grain has seen epoch {highest} of that partition; the sender no longer owns it.");
            }

            _highest[source] = record.LeaseEpoch;
        }
    }
}
