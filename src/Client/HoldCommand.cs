using OrleansKafka.Partitions;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>The <c>retry</c>, <c>skip</c> and <c>dead-letter</c> commands: an operator's decision about the record a partition holds.</summary>
internal static class HoldCommand
{
    public static async Task<int> RunAsync(ConnectionOptions connect, string group, string topic, int partition, HoldDecision decision, CancellationToken cancellationToken)
    {
        IDisposable? host = null;
        try
        {
            var connection = await ClusterConnection.ConnectAsync(connect.Gateway, connect.ClusterId, connect.ServiceId, cancellationToken);
            host = connection;
            var key = PartitionGrainKey.Format(group, topic, partition);
            var grain = connection.Client().GetGrain<IPartitionGrain>(key);
            var held = await grain.GetStatusAsync();
            await grain.ResolveHoldAsync(decision);
            AnsiConsole.MarkupLineInterpolated($"{key}: {decision} of the record at offset {held.HeldOffset} sent; the partition goes on.");
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 2;
        }
        finally
        {
            host?.Dispose();
        }
    }
}
