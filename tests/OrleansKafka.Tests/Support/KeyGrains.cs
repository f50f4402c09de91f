using System.Collections.Concurrent;
using Orleans.Placement;
using OrleansKafka.KeyGrains;

namespace OrleansKafka.Tests.Support;

public interface IRecordingKeyGrain : IKafkaKeyGrain<string>, IGrainWithStringKey;

/// <summary>Records each record it gets with its silo and when it ran; spread over the silos at random.</summary>
[RandomPlacement]
public sealed class RecordingKeyGrain(KeyGrainLog log, KeyGate gate, ILocalSiloDetails silo) : Grain, IRecordingKeyGrain
{
    public async Task ProcessAsync(KeyedRecord<string> record)
    {
        log.Started();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            // Work that takes a while, so that records of different keys overlap when they may.
            await (record.Value == KeyGate.Value ? gate.PassAsync() : Task.Delay(20));
            log.Add(record.Key, record.Offset, record.LeaseEpoch, silo.SiloAddress.ToString());
        }
        finally
        {
            log.Finished(record.LeaseEpoch, started);
        }
    }
}

/// <summary>Holds every record whose value is <see cref="Value"/> until <see cref="Opened"/> completes.</summary>
public sealed class KeyGate
{
    public const string Value = "gate";

    private int _entered;

    public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How often a record with the gate's value began processing.</summary>
    public int Entered => Volatile.Read(ref _entered);

    public Task PassAsync()
    {
        Interlocked.Increment(ref _entered);
        return Opened.Task;
    }
}

/// <summary>What key grains saw: per key, the offsets in arrival order, and how many ran at once.</summary>
public sealed class KeyGrainLog
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _byKey = new(StringComparer.Ordinal);
    private int _running;
    private int _maxRunning;

    public ConcurrentDictionary<string, int> Silos { get; } = new(StringComparer.Ordinal);

    public int Count => _byKey.Values.Sum(q => q.Count);

    public int MaxConcurrent => Volatile.Read(ref _maxRunning);

    public IReadOnlyList<long> OffsetsOf(string key) => _byKey.TryGetValue(key, out var q) ? [.. q] : [];

    public void Started()
    {
        var running = Interlocked.Increment(ref _running);
        int max;
        while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
        {
        }
    }

    /// <summary>Every call, with the lease epoch it was sent under and when it began and ended (monotonic timestamps).</summary>
    public ConcurrentQueue<(long Epoch, long Start, long End)> Calls { get; } = new();

    public void Finished(long epoch, long started)
    {
        Calls.Enqueue((epoch, started, System.Diagnostics.Stopwatch.GetTimestamp()));
        Interlocked.Decrement(ref _running);
    }

    public void Add(string key, long offset, long epoch, string silo)
    {
        _byKey.GetOrAdd(key, _ => new ConcurrentQueue<long>()).Enqueue(offset);
        Silos.AddOrUpdate(silo, 1, (_, n) => n + 1);
    }
}

public interface ICountingKeyGrain : IKafkaKeyGrain<string>, IGrainWithStringKey
{
    Task<Tally> GetTallyAsync();
}

[GenerateSerializer]
public sealed class Tally
{
    [Id(0)] public int Count { get; set; }

    [Id(1)] public List<long> Offsets { get; set; } = [];
}

/// <summary>Counts its records with exactly-once state; a value of "fail" changes the state, then throws.</summary>
public sealed class CountingKeyGrain : KafkaKeyGrain<string, Tally>, ICountingKeyGrain
{
    protected override Task OnRecordAsync(KeyedRecord<string> record)
    {
        State.Count++;
        State.Offsets.Add(record.Offset);
        return record.Value == "fail" ? throw new InvalidOperationException("failed after changing the state") : Task.CompletedTask;
    }

    public Task<Tally> GetTallyAsync() => Task.FromResult(State);
}

/// <summary>A value type Orleans has no serializer for.</summary>
public sealed class UnserializableOrder
{
    public string? Id { get; set; }
}

public interface IUnserializableKeyGrain : IKafkaKeyGrain<UnserializableOrder>, IGrainWithStringKey;

public interface ICountingIntegerKeyGrain : IKafkaKeyGrain<string>, IGrainWithIntegerKey
{
    Task<Tally> GetTallyAsync();
}

/// <summary>Which records fail on their first run (by offset), for tests of retries.</summary>
public sealed class FailOnce
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, bool> _failed = new();

    public bool ShouldFail(long offset, string? value) => value == "fail-once" && _failed.TryAdd(offset, true);
}

/// <summary>Counts its records with exactly-once state, integer keys; "fail-once" throws on its first run.</summary>
public sealed class CountingIntegerKeyGrain(FailOnce failOnce) : KafkaKeyGrain<string, Tally>, ICountingIntegerKeyGrain
{
    protected override Task OnRecordAsync(KeyedRecord<string> record)
    {
        if (failOnce.ShouldFail(record.Offset, record.Value))
        {
            throw new InvalidOperationException($"first run of offset {record.Offset} fails");
        }

        State.Count++;
        State.Offsets.Add(record.Offset);
        return Task.CompletedTask;
    }

    public Task<Tally> GetTallyAsync() => Task.FromResult(State);
}

/// <summary>Every run of a record at <see cref="IAttemptsKeyGrain"/>, in the order they ran, and the grain calls that brought them.</summary>
public sealed class AttemptLog : IIncomingGrainCallFilter
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<long> _runs = new();
    private int _calls;

    public IReadOnlyList<long> Runs => [.. _runs];

    public int Calls => Volatile.Read(ref _calls);

    public void Ran(long offset) => _runs.Enqueue(offset);

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.TargetContext.GrainInstance is AttemptsKeyGrain)
        {
            Interlocked.Increment(ref _calls);
        }

        return context.Invoke();
    }
}

public interface IAttemptsKeyGrain : IKafkaKeyGrain<string>, IGrainWithStringKey;

/// <summary>Logs each run of a record; "fail" throws every time.</summary>
public sealed class AttemptsKeyGrain(AttemptLog log) : Grain, IAttemptsKeyGrain
{
    public Task ProcessAsync(KeyedRecord<string> record)
    {
        log.Ran(record.Offset);
        return record.Value == "fail" ? throw new InvalidOperationException($"offset {record.Offset} always fails") : Task.CompletedTask;
    }
}

public interface IPlacedKeyGrain : IKafkaKeyGrain<string>, IGrainWithStringKey;

/// <summary>
/// A key grain with no placement attribute: records whether each record ran on the silo that sent
/// it, the one holding the partition's lease under the record's epoch.
/// </summary>
internal sealed class PlacedKeyGrain(PlacementLog log, OrleansKafka.Leases.LeaseTable leases) : Grain, IPlacedKeyGrain
{
    public Task ProcessAsync(KeyedRecord<string> record)
    {
        var sentFromHere = leases.TryGet(record.Source, out var lease) && lease.Epoch == record.LeaseEpoch;
        log.Add(record.Partition, sentFromHere);
        return Task.CompletedTask;
    }
}

/// <summary>Per record a <see cref="PlacedKeyGrain"/> ran: its partition and whether it ran where it was sent from.</summary>
public sealed class PlacementLog
{
    public ConcurrentQueue<(int Partition, bool SentFromHere)> Records { get; } = new();

    public void Add(int partition, bool sentFromHere) => Records.Enqueue((partition, sentFromHere));
}
