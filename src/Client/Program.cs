using System.CommandLine;
using OrleansKafka.Cli;

var gateway = new Option<string>("--gateway", "-g")
{
    Description = "The silo gateway to connect to, host:port",
    DefaultValueFactory = _ => "127.0.0.1:30000",
};
var group = new Option<string?>("--group") { Description = "Only this consumer group" };
var watch = new Option<bool>("--watch", "-w") { Description = "Refresh every second until Ctrl+C" };

var status = new Command("status", "One row per partition grain: group, topic, partition, owner silo, state, committed offset, high watermark, lag")
{
    gateway, group, watch,
};
status.SetAction((parse, cancellationToken) => StatusCommand.RunAsync(parse.GetValue(gateway)!, parse.GetValue(group), parse.GetValue(watch), cancellationToken));

var root = new RootCommand("OrleansKafka operator CLI: inspect the partition grains of a running cluster") { status };
return await root.Parse(args).InvokeAsync();
