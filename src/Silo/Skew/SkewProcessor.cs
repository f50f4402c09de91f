using Microsoft.Extensions.Options;
using OrleansKafka.Processing;

namespace OrleansKafka.Silo.Skew;

/// <summary>
/// The processor of the placement benchmark: each record holds one of the silo's
/// <see cref="SkewOptions.SiloSlots"/> for <see cref="SkewOptions.CostPerRecord"/>, so a silo
/// processes at most slots / cost records a second over all its partitions, like a silo whose
/// cores are the limit, without using a core (three silos on a two-core machine would otherwise
/// share the cores, and where a partition runs would not matter).
/// </summary>
internal sealed class SkewProcessor(SkewSlots slots, IOptions<SkewOptions> options) : IRecordProcessor<byte[], byte[]>
{
    public async ValueTask ProcessAsync(KafkaRecord<byte[], byte[]> record, CancellationToken cancellationToken)
    {
        await slots.Gate.WaitAsync(CancellationToken.None);
        try
        {
            // A sleep rather than a timer: Linux sleeps 1 ms to within a few percent, a timer rounds it up to the next tick.
            Thread.Sleep(options.Value.CostPerRecord);
        }
        finally
        {
            slots.Gate.Release();
        }
    }
}

/// <summary>The silo's slots the <see cref="SkewProcessor"/> takes one of per record.</summary>
internal sealed class SkewSlots(IOptions<SkewOptions> options) : IDisposable
{
    public SemaphoreSlim Gate { get; } = new(Math.Max(1, options.Value.SiloSlots));

    public void Dispose() => Gate.Dispose();
}
