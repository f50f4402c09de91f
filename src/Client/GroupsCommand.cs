using System.Globalization;
using System.Text.Json;
using OrleansKafka.Leasing;
using OrleansKafka.Partitions;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>
/// The <c>groups</c> command: each consumer group's load as its lease grain measures it, per silo,
/// and the silos the group needs (<c>silos desired</c>).
/// </summary>
internal static class GroupsCommand
{
    public static async Task<int> RunAsync(ConnectionOptions connect, string? group, bool json, CancellationToken cancellationToken)
    {
        Microsoft.Extensions.Hosting.IHost? host = null;
        try
        {
            host = await ClusterConnection.ConnectAsync(connect, cancellationToken);
            var loads = await host.Client().GetGroupLoadsAsync(group);
            if (json)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(loads, CliJson.Options));
                return 0;
            }

            if (Console.IsOutputRedirected)
            {
                AnsiConsole.Profile.Width = 240;
            }

            AnsiConsole.Write(Render(loads));
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

    private static Table Render(IReadOnlyList<GroupLoad> loads)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in new[] { "group", "balance by", "cost (busy s/s)", "silos desired", "silo", "partitions", "silo cost", "capacity", "weight" })
        {
            table.AddColumn(column);
        }

        foreach (var load in loads)
        {
            var first = true;
            foreach (var silo in load.Silos.DefaultIfEmpty())
            {
                string[] groupCells = first
                    ? [Markup.Escape(load.Group), load.BalanceBy, Figure(load.Cost), load.SilosDesired.ToString(CultureInfo.InvariantCulture)]
                    : [string.Empty, string.Empty, string.Empty, string.Empty];
                string[] siloCells = silo is null
                    ? ["(no live silo)", string.Empty, string.Empty, string.Empty, string.Empty]
                    : [Markup.Escape(silo.Silo), silo.Partitions.ToString(CultureInfo.InvariantCulture), Figure(silo.Cost), Figure(silo.Capacity), silo.Weight.ToString(CultureInfo.InvariantCulture)];
                table.AddRow([.. groupCells, .. siloCells]);
                first = false;
            }
        }

        if (loads.Count == 0)
        {
            table.Caption("no consumer groups: no silo has registered one yet, or --group names none");
        }
        else if (loads.Where(l => l.Waiting is not null).Select(l => $"{l.Group}: {l.Waiting}").ToList() is { Count: > 0 } waiting)
        {
            table.Caption(Markup.Escape(string.Join(Environment.NewLine, waiting)));
        }

        return table;
    }

    private static string Figure(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
