using System.Collections.Concurrent;

namespace OrleansKafka.KeyGrains;

/// <summary>What a grain answers for a batch of its key's records: how many ran to completion, in order, and why the next one did not.</summary>
[GenerateSerializer, Immutable, Alias("OrleansKafka.KeyedBatchResult")]
internal sealed class KeyedBatchResult
{
    /// <summary>The records that completed, from the first: <c>records[..Completed]</c>.</summary>
    [Id(0)] public int Completed { get; init; }

    /// <summary>Why <c>records[Completed]</c> did not complete; null when all did.</summary>
    [Id(1)] public Exception? Failure { get; init; }
}

/// <summary>
/// Runs consecutive records of one key at its grain in one grain call: a grain call costs more
/// than a fast grain's work (docs/benchmarks.md, keygrains and streams), so a partition sends a
/// key's records of one delivery together while its grain is fast. Each record is fenced
/// (<see cref="KeyGrainEpochFence.Admit(IGrainContext, KeyedRecord, string)"/>) and processed as if it had come alone, one after
/// another; the first that fails ends the batch, and the sender takes it from there.
/// </summary>
internal static class KeyedBatches
{
    /// <summary>Runs <paramref name="run"/> over <paramref name="records"/> in order, admitting each first, until one fails.</summary>
    public static async Task<KeyedBatchResult> RunAsync(IGrainContext grain, KeyGrainEpochFence fence, KeyedRecord[] records, Func<KeyedRecord, Task> run)
    {
        // A unit's records come from one partition of one group: their source is built once.
        var source = records.Length > 0 ? records[0].Source : string.Empty;
        for (var i = 0; i < records.Length; i++)
        {
            try
            {
                fence.Admit(grain, records[i], source);
                await run(records[i]);
            }
            catch (Exception e)
            {
                return new KeyedBatchResult { Completed = i, Failure = e };
            }
        }

        return new KeyedBatchResult { Completed = records.Length };
    }
}

/// <summary>The grain extension through which a partition sends a key grain a batch of its key's records.</summary>
internal interface IKeyGrainBatch : IGrainExtension
{
    /// <summary>Runs each record through the grain's <c>ProcessAsync</c>, in order, until one fails.</summary>
    Task<KeyedBatchResult> ProcessAsync(KeyedRecord[] records);
}

/// <summary>Per key grain activation: runs a batch through the grain's own <see cref="IKafkaKeyGrain{TValue}.ProcessAsync"/>, in the grain's turn.</summary>
internal sealed class KeyGrainBatch(IGrainContextAccessor context, KeyGrainEpochFence fence) : IKeyGrainBatch
{
    private static readonly ConcurrentDictionary<Type, Func<object, KeyedRecord, Task>> Dispatchers = new();
    private readonly IGrainContext _grain = context.GrainContext;

    public Task<KeyedBatchResult> ProcessAsync(KeyedRecord[] records)
    {
        // The records of a unit share their value type: the call is looked up once.
        var call = records.Length > 0 ? Dispatcher(records[0].GetType()) : null;
        return KeyedBatches.RunAsync(_grain, fence, records, record => call!(_grain.GrainInstance!, record));
    }

    /// <summary>Calls <c>IKafkaKeyGrain&lt;TValue&gt;.ProcessAsync</c> for a <c>KeyedRecord&lt;TValue&gt;</c>.</summary>
    private static Func<object, KeyedRecord, Task> Dispatcher(Type recordType) => Dispatchers.GetOrAdd(recordType, static type =>
    {
        var value = type.GetGenericArguments()[0];
        var method = typeof(KeyGrainBatch).GetMethod(nameof(Call), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(value);
        return method.CreateDelegate<Func<object, KeyedRecord, Task>>();
    });

    private static Task Call<TValue>(object grain, KeyedRecord record) => ((IKafkaKeyGrain<TValue>)grain).ProcessAsync((KeyedRecord<TValue>)record);
}
