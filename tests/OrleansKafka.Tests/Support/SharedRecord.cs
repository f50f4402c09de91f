using System.Globalization;
using System.Text.Json;
using Orleans.Storage;

namespace OrleansKafka.Tests.Support;

/// <summary>
/// One grain-state record as a store keeps it, seen by several activations: each has its own
/// copy and ETag, and a write with an ETag other than the stored one is refused as a real store
/// refuses it (InconsistentStateException). <see cref="Failing"/> makes every read and write fail.
/// </summary>
internal sealed class SharedRecord<T>
    where T : new()
{
    private readonly Lock _lock = new();
    private string _stored = JsonSerializer.Serialize(new T());
    private string? _etag;
    private int _writes;

    /// <summary>When set, every read and write throws, as a store that cannot be reached.</summary>
    public Exception? Failing { get; set; }

    /// <summary>When set, every write waits for it before it is applied, as a slow store's would.</summary>
    public TaskCompletionSource? Slow { get; set; }

    /// <summary>How many writes were applied.</summary>
    public int Writes => _writes;

    /// <summary>A fresh activation's view of the record.</summary>
    public IPersistentState<T> View() => new ActivationView(this);

    /// <summary>The stored value.</summary>
    public T Stored
    {
        get
        {
            lock (_lock)
            {
                return JsonSerializer.Deserialize<T>(_stored)!;
            }
        }
    }

    private sealed class ActivationView(SharedRecord<T> record) : IPersistentState<T>
    {
        public T State { get; set; } = new();

        public string? Etag { get; private set; }

        public bool RecordExists => Etag is not null;

        public Task ClearStateAsync() => throw new NotSupportedException();

        public Task ReadStateAsync()
        {
            lock (record._lock)
            {
                if (record.Failing is { } failure)
                {
                    throw failure;
                }

                (State, Etag) = (JsonSerializer.Deserialize<T>(record._stored)!, record._etag);
            }

            return Task.CompletedTask;
        }

        public async Task WriteStateAsync()
        {
            if (record.Slow is { } slow)
            {
                await slow.Task;
            }

            lock (record._lock)
            {
                if (record.Failing is { } failure)
                {
                    throw failure;
                }

                if (Etag != record._etag)
                {
                    throw new InconsistentStateException($"ETag {Etag} is not the stored {record._etag}", Etag, record._etag);
                }

                record._stored = JsonSerializer.Serialize(State);
                record._etag = Etag = (++record._writes).ToString(CultureInfo.InvariantCulture);
            }
        }
    }
}
