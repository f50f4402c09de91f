using System.CommandLine;
using OrleansKafka.DeadLetters;

namespace OrleansKafka.Cli.DeadLetters;

/// <summary>The <c>dlq</c> command's grammar: <c>dlq list &lt;topic&gt;</c> and <c>dlq redrive &lt;topic&gt;</c> with their selection options.</summary>
internal static class DlqCommandLine
{
    public static Command Build(Option<string?> bootstrapServers)
    {
        var topic = new Argument<string>("topic") { Description = "The dead-letter topic, such as demo-orders.dlq" };
        var key = new Option<string?>("--key") { Description = "Only dead letters with this key" };
        var partition = new Option<int?>("--partition") { Description = "Only this partition of the dead-letter topic" };
        var from = new Option<long?>("--from-offset") { Description = "Only dead letters at this offset of the dead-letter topic or later" };
        var until = new Option<long?>("--to-offset") { Description = "Only dead letters at this offset of the dead-letter topic or earlier" };
        var json = new Option<bool>("--json") { Description = "JSON, for scripts" };
        var to = new Option<string?>("--to") { Description = "Send them to this topic instead of each record's source topic" };

        var list = new Command("list", "The dead letters of a topic: key and value previews, the error, where each came from, whether it was redriven")
        {
            topic, bootstrapServers, key, partition, from, until, json,
        };
        list.SetAction((parse, _) => DlqCommand.ListAsync(parse.GetValue(bootstrapServers)!, parse.GetValue(topic)!, Selection(parse), parse.GetValue(json)));

        var redrive = new Command("redrive", "Send dead letters back to their source topic (or --to) with their original key, value and headers; each once, however often it runs")
        {
            topic, bootstrapServers, key, partition, from, until, to, json,
        };
        redrive.SetAction((parse, _) => DlqCommand.RedriveAsync(parse.GetValue(bootstrapServers)!, parse.GetValue(topic)!, Selection(parse), parse.GetValue(to), parse.GetValue(json)));

        return new Command("dlq", "Dead-letter topics: list their records, and redrive them to where they came from") { list, redrive };

        DeadLetterSelection Selection(ParseResult parse) => new(parse.GetValue(key), parse.GetValue(partition), parse.GetValue(from), parse.GetValue(until));
    }
}
