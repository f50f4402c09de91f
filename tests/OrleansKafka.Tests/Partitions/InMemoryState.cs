namespace OrleansKafka.Tests.Partitions;

/// <summary>Grain state kept in memory, with an ETag that changes on each write and writes that can be made to fail.</summary>
internal sealed class InMemoryState<T> : IPersistentState<T>
    where T : new()
{
    private T _stored = new();

    public T State { get; set; } = new();

    public string? Etag { get; private set; }

    public bool RecordExists { get; private set; }

    public int Writes { get; private set; }

    /// <summary>When set, the next write throws it (as a storage that refuses a stale ETag would).</summary>
    public Exception? FailNextWrite { get; set; }

    /// <summary>What the last successful write stored.</summary>
    public T Stored => _stored;

    public Task ClearStateAsync()
    {
        (_stored, State, RecordExists) = (new T(), new T(), false);
        return Task.CompletedTask;
    }

    public Task ReadStateAsync()
    {
        State = Copy(_stored);
        return Task.CompletedTask;
    }

    public Task WriteStateAsync()
    {
        if (FailNextWrite is { } failure)
        {
            FailNextWrite = null;
            throw failure;
        }

        _stored = Copy(State);
        (RecordExists, Etag) = (true, (++Writes).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.CompletedTask;
    }

    private static T Copy(T value) => System.Text.Json.JsonSerializer.Deserialize<T>(System.Text.Json.JsonSerializer.Serialize(value))!;
}
