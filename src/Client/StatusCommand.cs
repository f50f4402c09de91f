using System.Text.Json;
using OrleansKafka.Partitions;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>The <c>status</c> command: a table of every partition grain.</summary>
internal static class StatusCommand
{
    public static async Task<int> RunAsync(ConnectionOptions connect, StatusFilter filter, bool watch, bool json, CancellationToken cancellationToken)
    {
        Microsoft.Extensions.Hosting.IHost? host = null;
        try
        {
            var connection = await ClusterConnection.ConnectAsync(connect, cancellationToken);
            host = connection;
            var client = connection.Client();
            if (Console.IsOutputRedirected)
            {
                // Piped output is read by scripts and people with wide screens: never wrap a row.
                AnsiConsole.Profile.Width = 240;
            }

            if (json)
            {
                // Plain stdout, not Spectre: scripts parse it.
                Console.Out.WriteLine(JsonSerializer.Serialize(filter.Apply(await client.GetPartitionStatusesAsync(filter.Group)), CliJson.Options));
                return 0;
            }

            if (!watch)
            {
                AnsiConsole.Write(Render(filter.Apply(await client.GetPartitionStatusesAsync(filter.Group)), filter));
                return 0;
            }

            await AnsiConsole.Live(new Table()).StartAsync(async live =>
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    live.UpdateTarget(Render(filter.Apply(await client.GetPartitionStatusesAsync(filter.Group)), filter));
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            });
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or TimeoutException or OrleansException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 2;
        }
        finally
        {
            await ClusterConnection.CloseAsync(host);
        }
    }

    private static Table Render(IReadOnlyList<PartitionStatus> statuses, StatusFilter filter)
    {
        var table = new Table().Border(TableBorder.Simple);
        // Processor state only when some processor keeps exactly-once state.
        var withState = statuses.Any(s => s.ProcessorStateJson is not null);
        foreach (var column in new[] { "group", "topic", "partition", "owner silo", "state", "epoch", "committed", "high watermark", "lag", "processed", "cost", "last error" }.Concat(withState ? ["processor state"] : []))
        {
            table.AddColumn(column);
        }

        foreach (var s in statuses)
        {
            string[] state = withState ? [Markup.Escape(s.ProcessorStateJson ?? string.Empty)] : [];
            table.AddRow([
                Markup.Escape(s.Group),
                Markup.Escape(s.Topic),
                s.Partition.ToString(),
                Markup.Escape(s.Silo),
                // Held keys (OnFailure = HoldKey) while the others go on: orleans-kafka key list names them.
                s.HeldKeys.Count == 0 ? s.State.ToString() : $"{s.State} ({s.HeldKeys.Count} key(s) held)",
                s.LeaseEpoch.ToString(),
                Known(s.CommittedOffset),
                Known(s.HighWatermark),
                Known(s.Lag),
                s.RecordsProcessed.ToString(),
                s.Cost is { } cost ? cost.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "-",
                Markup.Escape(s.LastError ?? s.Waiting ?? string.Empty),
                .. state]);
        }

        if (statuses.Count == 0)
        {
            table.Caption(filter == new StatusFilter(null, null, null)
                ? "no partitions: no silo has registered a consumer group yet"
                : "no partition matches --group, --topic or --state");
        }

        return table;
    }

    private static string Known(long value) => value < 0 ? "-" : value.ToString();
}
