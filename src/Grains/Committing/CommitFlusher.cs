using System.Collections.Concurrent;

namespace OrleansKafka.Committing;

/// <summary>Finds the control client of a consumer group on this silo, for commits that must happen now (at-most-once, an operator's seek).</summary>
internal sealed class CommitFlusher
{
    private readonly ConcurrentDictionary<string, GroupControlClient> _clients = new(StringComparer.Ordinal);

    public void Register(string group, GroupControlClient client) => _clients[group] = client;

    public void Unregister(string group) => _clients.TryRemove(group, out _);

    /// <summary>The group's control client on this silo, if the silo processes the group.</summary>
    public GroupControlClient? Control(string group) => _clients.GetValueOrDefault(group);

    /// <summary>Commits every processed offset of the group; completes when Kafka has acknowledged.</summary>
    public Task FlushAsync(string group) =>
        _clients.TryGetValue(group, out var client) ? client.FlushAsync() : Task.CompletedTask;
}
