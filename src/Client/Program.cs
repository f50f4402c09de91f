using System.CommandLine;
using OrleansKafka.Cli;
using OrleansKafka.Partitions;

var gateway = new Option<string>("--gateway", "-g")
{
    Description = "The silo gateway to connect to, host:port",
    DefaultValueFactory = _ => "127.0.0.1:30000",
};
var clusterId = new Option<string>("--cluster-id")
{
    Description = "The cluster's id (the silo's Silo:ClusterId)",
    DefaultValueFactory = _ => "dev",
};
var serviceId = new Option<string>("--service-id")
{
    Description = "The cluster's service id (the silo's Silo:ServiceId)",
    DefaultValueFactory = _ => "dev",
};
var group = new Option<string?>("--group") { Description = "Only this consumer group" };
var topic = new Option<string?>("--topic") { Description = "Only this topic" };
var state = new Option<PartitionState?>("--state") { Description = "Only partitions in this state (Idle, Processing, Retrying, Holding, NotOwner)" };
var json = new Option<bool>("--json") { Description = "One JSON array of partition statuses, for scripts" };
var watch = new Option<bool>("--watch", "-w") { Description = "Refresh every second until Ctrl+C" };

var status = new Command("status", "One row per partition grain: group, topic, partition, owner silo, state, committed offset, high watermark, lag")
{
    gateway, clusterId, serviceId, group, topic, state, watch, json,
};
status.SetAction((parse, cancellationToken) => StatusCommand.RunAsync(
    new ConnectionOptions(parse.GetValue(gateway)!, parse.GetValue(clusterId)!, parse.GetValue(serviceId)!),
    new StatusFilter(parse.GetValue(group), parse.GetValue(topic), parse.GetValue(state)),
    parse.GetValue(watch),
    parse.GetValue(json),
    cancellationToken));

var root = new RootCommand("OrleansKafka operator CLI: inspect the partition grains of a running cluster and decide about held records") { status };
foreach (var (name, decision, description) in new[]
{
    ("retry", HoldDecision.Retry, "Run the processor again on the record a partition holds (it holds again if it still fails)"),
    ("skip", HoldDecision.Skip, "Leave the record a partition holds unprocessed and go on; committed at once"),
    ("dead-letter", HoldDecision.DeadLetter, "Write the record a partition holds to its dead-letter topic and go on; committed at once"),
})
{
    var groupArgument = new Argument<string>("group") { Description = "The consumer group" };
    var topicArgument = new Argument<string>("topic") { Description = "The topic" };
    var partitionArgument = new Argument<int>("partition") { Description = "The partition" };
    var command = new Command(name, description) { groupArgument, topicArgument, partitionArgument, gateway, clusterId, serviceId };
    command.SetAction((parse, cancellationToken) => HoldCommand.RunAsync(
        new ConnectionOptions(parse.GetValue(gateway)!, parse.GetValue(clusterId)!, parse.GetValue(serviceId)!),
        parse.GetValue(groupArgument)!,
        parse.GetValue(topicArgument)!,
        parse.GetValue(partitionArgument),
        decision,
        cancellationToken));
    root.Subcommands.Add(command);
}

return await root.Parse(args).InvokeAsync();
