using OrleansKafka.Partitions;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>
/// Runs one operator command on one partition grain: connects, calls it, prints what happened.
/// Exit code 0 when done, 2 when the cluster cannot be reached, knows no such partition, or the
/// grain refuses (a partition that is not holding a record, ...), with the reason.
/// </summary>
internal static class PartitionCommand
{
    public static async Task<int> RunAsync(ConnectionOptions connect, string group, string topic, int partition, Func<IPartitionGrain, string, Task> command, CancellationToken cancellationToken)
    {
        Microsoft.Extensions.Hosting.IHost? host = null;
        try
        {
            var connection = await ClusterConnection.ConnectAsync(connect, cancellationToken);
            host = connection;
            var key = $"{group}/{topic}/{partition}";
            // Names from the command line reach no grain unless the cluster knows the partition.
            var grain = await connection.Client().FindPartitionGrainAsync(group, topic, partition)
                ?? throw new InvalidOperationException($"no partition {key} is known to the cluster: expected a consumer group a silo processes and a partition its lease grain assigns, as status lists them.");
            await command(grain, key);
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or TimeoutException or OrleansException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
        finally
        {
            await ClusterConnection.CloseAsync(host);
        }
    }

    /// <summary>The <c>pause</c> command.</summary>
    public static async Task PauseAsync(IPartitionGrain grain, string key)
    {
        await grain.PauseAsync();
        AnsiConsole.MarkupLineInterpolated($"{key}: paused; it processes nothing until resumed, also after a move or a restart.");
    }

    /// <summary>The <c>seek</c> command: an offset, <c>beginning</c> or <c>end</c>.</summary>
    public static Func<IPartitionGrain, string, Task> Seek(string target) => async (grain, key) =>
    {
        if (!PartitionSeek.TryParse(target, out var offset))
        {
            throw new ArgumentException($"offset '{target}' is not an offset; expected a number, beginning or end.");
        }

        var committed = await grain.SeekAsync(offset);
        AnsiConsole.MarkupLineInterpolated($"{key}: offset {committed} committed; the partition restarts there.");
    };

    /// <summary>The <c>move</c> command.</summary>
    public static Func<IPartitionGrain, string, Task> Move(string silo) => async (grain, key) =>
    {
        await grain.MoveAsync(silo);
        AnsiConsole.MarkupLineInterpolated($"{key}: moving to silo {silo}; it stays there while that silo lives.");
    };

    /// <summary>The <c>resume</c> command.</summary>
    public static async Task ResumeAsync(IPartitionGrain grain, string key)
    {
        await grain.ResumeAsync();
        AnsiConsole.MarkupLineInterpolated($"{key}: resumed from its committed offset.");
    }
}
