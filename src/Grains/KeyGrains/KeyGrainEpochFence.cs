namespace OrleansKafka.KeyGrains;

/// <summary>
/// Fences key grains by lease epoch: a record sent under an older epoch than one the grain
/// activation has already seen for the same source partition is refused, so a stale owner's
/// late call cannot overtake the new owner's records. Applies to every <see cref="IKafkaKeyGrain{TValue}"/>
/// implementation, with or without a base class.
/// </summary>
internal sealed class KeyGrainEpochFence : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        // The record is the first argument of a key grain's ProcessAsync and of a stream delivery.
        if (context.Request.GetArgumentCount() >= 1 && context.Request.GetArgument(0) is KeyedRecord record)
        {
            var seen = context.TargetContext.GetComponent<SeenEpochs>();
            if (seen is null)
            {
                seen = new SeenEpochs();
                context.TargetContext.SetComponent(seen);
            }

            seen.Admit(record, context.TargetId);
        }

        return context.Invoke();
    }

    /// <summary>The highest lease epoch a key grain activation has seen, per source partition.</summary>
    private sealed class SeenEpochs
    {
        private readonly Dictionary<string, long> _highest = new(StringComparer.Ordinal);

        public void Admit(KeyedRecord record, GrainId grain)
        {
            var source = record.Source;
            if (_highest.TryGetValue(source, out var highest) && record.LeaseEpoch < highest)
            {
                throw new StaleLeaseEpochException(
                    $"Key grain {grain} refused offset {record.Offset} of {source}: it was sent under lease epoch {record.LeaseEpoch}, and the grain has seen epoch {highest} of that partition; the sender no longer owns it.");
            }

            _highest[source] = record.LeaseEpoch;
        }
    }
}
