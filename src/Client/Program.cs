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
var tlsCertificate = new Option<string?>("--tls-certificate")
{
    Description = $"A .pfx certificate to present to a gateway that requires TLS (the silo's Silo:Tls:Certificate or one its Silo:Tls:Trusted issued); its password from ${ConnectionOptions.TlsPasswordVariable}",
};
var connectTimeout = new Option<int>("--connect-timeout")
{
    Description = $"Seconds connecting to the gateway may take; by default ${ConnectionOptions.ConnectTimeoutVariable}, or {ConnectionOptions.DefaultConnectTimeoutSeconds}",
    DefaultValueFactory = _ => int.TryParse(Environment.GetEnvironmentVariable(ConnectionOptions.ConnectTimeoutVariable), out var seconds) ? seconds : ConnectionOptions.DefaultConnectTimeoutSeconds,
};
var tlsTrusted = new Option<string?>("--tls-trusted") { Description = "A CA certificate (PEM or DER) whose certificates the CLI accepts from the gateway; without it, only its own certificate" };
var group = new Option<string?>("--group") { Description = "Only this consumer group" };
var topic = new Option<string?>("--topic") { Description = "Only this topic" };
var state = new Option<PartitionState?>("--state") { Description = "Only partitions in this state (Idle, Processing, Retrying, Holding, Paused, NotOwner)" };
var json = new Option<bool>("--json") { Description = "One JSON array of partition statuses, for scripts" };
var watch = new Option<bool>("--watch", "-w") { Description = "Refresh every second until Ctrl+C" };

var status = new Command("status", "One row per partition grain: group, topic, partition, owner silo, state, committed offset, high watermark, lag")
{
    gateway, clusterId, serviceId, tlsCertificate, tlsTrusted, connectTimeout, group, topic, state, watch, json,
};
status.SetAction((parse, cancellationToken) => StatusCommand.RunAsync(
    Connect(parse),
    new StatusFilter(parse.GetValue(group), parse.GetValue(topic), parse.GetValue(state)),
    parse.GetValue(watch),
    parse.GetValue(json),
    cancellationToken));

var groupsJson = new Option<bool>("--json") { Description = "One JSON array of the groups' loads, for scripts" };
var groups = new Command("groups", "One row per consumer group and live silo: what the group balances by, its measured cost (busy seconds a second) per silo, and the silos it needs")
{
    gateway, clusterId, serviceId, tlsCertificate, tlsTrusted, connectTimeout, group, groupsJson,
};
groups.SetAction((parse, cancellationToken) => GroupsCommand.RunAsync(Connect(parse), parse.GetValue(group), parse.GetValue(groupsJson), cancellationToken));

var produceTopic = new Argument<string>("topic") { Description = "The topic to write to; it must exist" };
var bootstrapServers = new Option<string?>("--bootstrap-servers", "-b")
{
    Description = $"The Kafka brokers, host:port[,host:port...]; by default ${ProduceOptions.BootstrapServersVariable}. A silo on the embedded Kafka logs them as \"bootstrap servers: ...\"",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ProduceOptions.BootstrapServersVariable),
};
var count = new Option<int>("--count") { Description = "Records to produce", DefaultValueFactory = _ => 10_000 };
var rate = new Option<double>("--rate") { Description = "Records per second; 0 is as fast as Kafka takes them", DefaultValueFactory = _ => 0d };
var keyCount = new Option<int>("--key-count") { Description = "Distinct keys, key-0 to key-<n-1>, used round robin", DefaultValueFactory = _ => 100 };
var valueSize = new Option<int>("--value-size") { Description = "Bytes of each value: a JSON demo order (orderId, customer, amount) padded to this size", DefaultValueFactory = _ => 100 };
var produceJson = new Option<bool>("--json") { Description = "No progress bar; one JSON object with the totals at the end, for scripts" };

var produce = new Command("produce", "A load producer: writes JSON demo orders keyed key-0, key-1, ... to a topic with a progress bar, and prints the rate reached")
{
    produceTopic, bootstrapServers, count, rate, keyCount, valueSize, produceJson,
};
produce.SetAction((parse, cancellationToken) => ProduceCommand.RunAsync(
    new ProduceOptions(
        parse.GetValue(produceTopic)!,
        parse.GetValue(bootstrapServers),
        parse.GetValue(count),
        parse.GetValue(rate),
        parse.GetValue(keyCount),
        parse.GetValue(valueSize),
        parse.GetValue(produceJson)),
    cancellationToken));

var root = new RootCommand("OrleansKafka operator CLI: inspect the partition grains of a running cluster, decide about held records, redrive dead letters, and produce load")
{
    status, groups, produce, OrleansKafka.Cli.DeadLetters.DlqCommandLine.Build(bootstrapServers),
};
var historyJson = new Option<bool>("--json") { Description = "The owners as a JSON array, for scripts" };
var offsetArgument = new Argument<string>("offset") { Description = "An offset, beginning or end" };
var siloArgument = new Argument<string>("silo") { Description = "The silo to move it to, as status shows it (host:port)" };
foreach (var (command, run) in new (Command, Func<ParseResult, Func<IPartitionGrain, string, Task>>)[]
{
    (new Command("pause", "Stop processing a partition before its next record until resumed; holds across moves, and across restarts with a Redis or Postgres store"), _ => PartitionCommand.PauseAsync),
    (new Command("resume", "Go on processing a paused partition from its committed offset"), _ => PartitionCommand.ResumeAsync),
    (new Command("seek", "Move a partition's committed offset (backwards or forwards) and restart it there") { offsetArgument }, parse => PartitionCommand.Seek(parse.GetValue(offsetArgument)!)),
    (new Command("move", "Move a partition to a named silo of its group; it stays there while that silo lives") { siloArgument }, parse => PartitionCommand.Move(parse.GetValue(siloArgument)!)),
    (new Command("retry", "Run the processor again on the record a partition holds (it holds again if it still fails)"), _ => Decide(HoldDecision.Retry)),
    (new Command("skip", "Leave the record a partition holds unprocessed and go on; committed at once"), _ => Decide(HoldDecision.Skip)),
    (new Command("dead-letter", "Write the record a partition holds to its dead-letter topic and go on; committed at once"), _ => Decide(HoldDecision.DeadLetter)),
    (new Command("history", "Which silos owned a partition, from when, under which lease epoch, and why it moved") { historyJson }, parse => HistoryCommand.Show(parse.GetValue(historyJson))),
})
{
    root.Subcommands.Add(PartitionCommandOf(command, run));
}

// The keys a partition holds (OnFailure = HoldKey), and decisions about one of them.
var keyCommand = new Command("key", "The keys a partition holds (OnFailure = HoldKey): list them, retry, skip or dead-letter one");
var keyListJson = new Option<bool>("--json") { Description = "The held keys as a JSON array, for scripts" };
keyCommand.Subcommands.Add(PartitionCommandOf(new Command("list", "The keys a partition holds: key, held offset, records waiting, since when, error") { keyListJson }, parse => KeyCommand.List(parse.GetValue(keyListJson))));
foreach (var (name, decision, description) in new[]
{
    ("retry", HoldDecision.Retry, "Run the processor again on a held key's record; then its waiting records run in order (it holds again if one fails)"),
    ("skip", HoldDecision.Skip, "Leave a held key's record unprocessed; then its waiting records run in order"),
    ("dead-letter", HoldDecision.DeadLetter, "Write a held key's record to the dead-letter topic; then its waiting records run in order"),
})
{
    var keyArgument = new Argument<string>("key") { Description = "The held key, as key list shows it" };
    var heldOffset = new Option<long?>("--offset") { Description = "The held record's offset, when several held keys are shown alike" };
    keyCommand.Subcommands.Add(PartitionCommandOf(new Command(name, description) { keyArgument, heldOffset }, parse => KeyCommand.Decide(decision, parse.GetValue(keyArgument)!, parse.GetValue(heldOffset))));
}

root.Subcommands.Add(keyCommand);

ConnectionOptions Connect(ParseResult parse) =>
    new(parse.GetValue(gateway)!, parse.GetValue(clusterId)!, parse.GetValue(serviceId)!, parse.GetValue(tlsCertificate), parse.GetValue(tlsTrusted), parse.GetValue(connectTimeout));

// A command on one partition: <group> <topic> <partition> first (then the command's own
// arguments), the connection options, and the action run on the partition grain.
Command PartitionCommandOf(Command command, Func<ParseResult, Func<IPartitionGrain, string, Task>> run)
{
    var groupArgument = new Argument<string>("group") { Description = "The consumer group" };
    var topicArgument = new Argument<string>("topic") { Description = "The topic" };
    var partitionArgument = new Argument<int>("partition") { Description = "The partition" };
    var trailing = command.Arguments.ToList();
    command.Arguments.Clear();
    foreach (var argument in new Argument[] { groupArgument, topicArgument, partitionArgument }.Concat(trailing))
    {
        command.Arguments.Add(argument);
    }

    command.Options.Add(gateway);
    command.Options.Add(clusterId);
    command.Options.Add(serviceId);
    command.Options.Add(tlsCertificate);
    command.Options.Add(tlsTrusted);
    command.Options.Add(connectTimeout);
    command.SetAction((parse, cancellationToken) => PartitionCommand.RunAsync(
        Connect(parse), parse.GetValue(groupArgument)!, parse.GetValue(topicArgument)!, parse.GetValue(partitionArgument), run(parse), cancellationToken));
    return command;
}

static Func<IPartitionGrain, string, Task> Decide(HoldDecision decision) => async (grain, key) =>
{
    var held = await grain.GetStatusAsync();
    await grain.ResolveHoldAsync(decision);
    Spectre.Console.AnsiConsole.MarkupLineInterpolated($"{key}: {decision} of the record at offset {held.HeldOffset} sent; the partition goes on.");
};

return await root.Parse(args).InvokeAsync();
