using System.Collections.Concurrent;
using OrleansKafka.Processing;

namespace OrleansKafka.Tests.Support;

/// <summary>Fails every time on the records <see cref="PoisonPlan"/> names; records the rest.</summary>
public sealed class PoisonProcessor(RecordLog log, PoisonPlan plan) : IRecordProcessor<string, string>
{
    public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        if (plan.IsPoison(record.Context.Partition, record.Context.Offset))
        {
            plan.Attempts.AddOrUpdate(record.Context.Offset, 1, (_, n) => n + 1);
            throw new InvalidOperationException($"poison record at offset {record.Context.Offset}");
        }

        log.Add(record.Context.Partition, record.Context.Offset, record.Value);
        return ValueTask.CompletedTask;
    }
}

public sealed class PoisonPlan(int partition, long offset)
{
    private volatile bool _healed;

    public ConcurrentDictionary<long, int> Attempts { get; } = new();

    public bool IsPoison(int p, long o) => !_healed && p == partition && o == offset;

    /// <summary>From now on the poison record succeeds, as after a fix downstream.</summary>
    public void Heal() => _healed = true;
}

/// <summary>Blocks on the first record until its token fires, and says so.</summary>
public sealed class BlockingProcessor(CancellationProbe probe) : IRecordProcessor<string, string>
{
    public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        probe.Entered.TrySetResult();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            probe.Cancelled.TrySetResult();
            throw;
        }
    }
}

public sealed class CancellationProbe
{
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Records, for each record, the committed offset Kafka held when processing began.</summary>
public sealed class CommitProbeProcessor(CommitProbe probe) : IRecordProcessor<string, string>
{
    public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        probe.CommittedAtProcessing[record.Context.Offset] = probe.ReadCommitted(record.Context.Topic, record.Context.Partition);
        return ValueTask.CompletedTask;
    }
}

public sealed class CommitProbe(Func<string, int, long> readCommitted)
{
    public ConcurrentDictionary<long, long> CommittedAtProcessing { get; } = new();

    public long ReadCommitted(string topic, int partition) => readCommitted(topic, partition);
}

/// <summary>A batch processor with JSON values, recording batch sizes and values.</summary>
public sealed class JsonBatchProcessor(RecordLog log) : IBatchProcessor<string, Measurement>
{
    public ValueTask ProcessBatchAsync(IReadOnlyList<KafkaRecord<string, Measurement>> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            log.Add(record.Context.Partition, record.Context.Offset, $"{record.Key}:{record.Value.Sensor}:{record.Value.Value}");
        }

        return ValueTask.CompletedTask;
    }
}

public sealed record Measurement(string Sensor, double Value);

/// <summary>
/// Takes 2 ms per record (a record whose value is "slow" waits for <see cref="SlowGate"/>
/// instead), marking each processing interval, so concurrency and order can be checked.
/// </summary>
public sealed class AwaitingProcessor(RecordLog log, SlowGate gate) : IRecordProcessor<string, string>
{
    public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        using (log.Enter(record.Context.Partition))
        {
            await (record.Value == "slow" ? gate.Open.Task : Task.Delay(TimeSpan.FromMilliseconds(2), CancellationToken.None));
            log.Add(record.Context.Partition, record.Context.Offset, $"{record.Key}:{record.Value}");
        }
    }
}

public sealed class SlowGate
{
    public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Holds every record until the test opens the gate; counts the records that entered and finished.</summary>
public sealed class GateProcessor(Gate gate) : IRecordProcessor<string, string>
{
    public async ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        gate.Entered.Enqueue(record.Context.Offset);
        await gate.Open.Task.WaitAsync(cancellationToken);
        gate.Finished.Enqueue(record.Context.Offset);
    }
}

public sealed class Gate
{
    public System.Collections.Concurrent.ConcurrentQueue<long> Entered { get; } = new();

    public System.Collections.Concurrent.ConcurrentQueue<long> Finished { get; } = new();

    public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Counts its partition's records, with exactly-once state.</summary>
public sealed class StatefulCountingProcessor : IRecordProcessor<string, string>, IStatefulProcessor<RecordCount>
{
    public RecordCount State { get; set; } = new();

    public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
    {
        State.Count++;
        State.Last = record.Context.Offset;
        return ValueTask.CompletedTask;
    }
}

public sealed class RecordCount
{
    public long Count { get; set; }

    public long Last { get; set; } = -1;
}
