using System.Collections.Concurrent;
using Confluent.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.Tests.Partitions;

/// <summary>A processor pipeline whose work per record is a function of the test; it notes every call.</summary>
internal sealed class ScriptedPipeline(Func<ConsumeResult<byte[], byte[]>, CancellationToken, Task> process, bool batch = false) : ProcessorPipeline
{
    /// <summary>The offsets of every unit run, in the order the runs started (a batch as its offsets).</summary>
    public ConcurrentQueue<long[]> Units { get; } = new();

    public static ScriptedPipeline Succeeding(bool batch = false) => new((_, _) => Task.CompletedTask, batch);

    public override int UnitLength(int remaining) => batch ? remaining : 1;

    public override async ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
    {
        Units.Enqueue([.. Enumerable.Range(index, count).Select(i => records[i].Offset.Value)]);
        for (var i = index; i < index + count; i++)
        {
            await process(records[i], cancellationToken);
        }
    }
}
