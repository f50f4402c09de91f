using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// A key grain with exactly-once state: each record's effect on <see cref="State"/> is stored with
/// the record's offset in one grain-storage write (ETag-guarded, in the <see cref="KafkaStorage.Name"/>
/// storage), and a record at or below the offset already applied for its source partition
/// (redelivered after a failover) is acknowledged without running again.
/// </summary>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <typeparam name="TState">The state; stored as JSON (System.Text.Json, web defaults).</typeparam>
/// <remarks>
/// A record whose <see cref="OnRecordAsync"/> throws, or whose write fails, leaves the state as
/// stored (what the record changed in memory is dropped) and is run again under the processor's
/// failure policy. Effects outside the state (a produce, an HTTP call) stay at-least-once.
/// Deduplication is by offset per source partition: an operator's seek back, or a topic deleted
/// and created again (its offsets start over), is not applied again until its offsets pass the
/// highest one applied.
/// </remarks>
public abstract class KafkaKeyGrain<TValue, TState> : Grain, IKafkaKeyGrain<TValue>
    where TState : class, new()
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly IPersistentState<KeyGrainCheckpoint> _stored;
    private TState? _state;

    /// <summary>Attaches the grain's stored state (read when the grain activates).</summary>
    protected KafkaKeyGrain()
    {
        _stored = ServiceProvider.GetRequiredService<IPersistentStateFactory>()
            .Create<KeyGrainCheckpoint>(GrainContext, new PersistentStateAttribute("kafka", KafkaStorage.Name));
    }

    /// <summary>The state of this key as of the last record applied; change it in <see cref="OnRecordAsync"/>.</summary>
    protected TState State => _state ??= _stored.State.State is { } json ? JsonSerializer.Deserialize<TState>(json, Json) ?? new TState() : new TState();

    /// <summary>Applies one record to <see cref="State"/>; it is stored with the record's offset when this returns.</summary>
    protected abstract Task OnRecordAsync(KeyedRecord<TValue> record);

    /// <inheritdoc/>
    public async Task ProcessAsync(KeyedRecord<TValue> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var stored = _stored.State;
        if (stored.Applied.TryGetValue(record.Source, out var applied) && record.Offset <= applied)
        {
            // Redelivered (its partition moved before the commit): its effect is already stored.
            return;
        }

        try
        {
            await OnRecordAsync(record);
        }
        catch
        {
            // What this record changed in memory is not stored: go back to what is.
            _state = null;
            throw;
        }

        // A new checkpoint, in effect only once written: a failed write leaves the stored one in place.
        var next = new KeyGrainCheckpoint { State = JsonSerializer.Serialize(State, Json), Applied = new(stored.Applied, StringComparer.Ordinal) { [record.Source] = record.Offset } };
        _stored.State = next;
        try
        {
            await _stored.WriteStateAsync();
        }
        catch
        {
            _stored.State = stored;
            _state = null;
            try
            {
                // Another activation may have written (the ETag): take what is stored now.
                await _stored.ReadStateAsync();
            }
            catch
            {
                // Storage is not answering: this activation goes, and the next one reads what is stored.
                DeactivateOnIdle();
            }

            throw;
        }
    }
}
