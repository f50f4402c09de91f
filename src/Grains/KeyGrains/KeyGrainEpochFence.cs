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
        // The record is the first argument of a key grain's ProcessAsync and of a stream delivery.
        if (context.Request.GetArgumentCount() >= 1 && context.Request.GetArgument(0) is KeyedRecord record)
        {
            var source = record.Source;
            if (leases.HasEnded(source, record.LeaseEpoch))
            {
                throw new StaleLeaseEpochException(
                    $"Key grain {context.TargetId} refused offset {record.Offset} of {source}: it was sent under lease epoch {record.LeaseEpoch}, which this silo held and has ended (it ran out, was lost or given up); the sender no longer owns the partition.");
            }

            if (!stalls.MayRun)
            {
                throw new SiloStalledException(
                    $"Key grain {context.TargetId} did not run offset {record.Offset} of {source}: its silo has just stood still and has not yet confirmed it is still a member; send it again.");
            }

            var seen = context.TargetContext.GetComponent<SeenEpochs>();
            if (seen is null)
            {
                seen = new SeenEpochs();
                context.TargetContext.SetComponent(seen);
            }

            seen.Admit(record, source, context.TargetId);
        }

        return context.Invoke();
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
