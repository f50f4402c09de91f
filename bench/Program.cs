using OrleansKafka.Bench;
using OrleansKafka.Bench.Chaos;
using OrleansKafka.Bench.Cluster;

// Each scenario prints its figures as "result <name> <value>" lines, measured in this one run.
var scenario = args.Length > 0 ? args[0] : "throughput";
var options = BenchOptions.Parse(args.Skip(1).ToArray());
var exitCode = 1;
try
{
    exitCode = await RunAsync(scenario, options);
}
finally
{
    // A run that leaves a process behind fails, whatever it measured.
    if (Leftovers.StopAndReport())
    {
        exitCode = 1;
    }
}

return exitCode;

static async Task<int> RunAsync(string scenario, BenchOptions options) => scenario switch
{
    "throughput" => await ThroughputScenario.RunAsync(options),
    "scale" => await ScaleScenario.RunAsync(options),
    "latency" => await LatencyScenario.RunAsync(options),
    "failover" => await FailoverScenario.RunAsync(options),
    "handoff" => await HandoffScenario.RunAsync(options),
    "chaos" => await ChaosScenario.RunAsync(options),
    "keys" => await KeysScenario.RunAsync(options),
    "holdkey" => await HoldKeyScenario.RunAsync(options),
    "keygrains" => await KeyGrainsScenario.RunAsync(options),
    "streams" => await StreamsScenario.RunAsync(options),
    "backlog" => await BacklogScenario.RunAsync(options),
    "skew" => await SkewScenario.RunAsync(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench -- <throughput|scale|latency|failover|handoff|chaos|keys|holdkey|keygrains|streams|backlog|skew> [--records N (failover: kills; skew: backlog of a cold partition)] [--partitions N] [--fetch-consumers N (per silo)] [--silos N (throughput)] [--tuned (throughput)] [--seconds N]");
    Console.Error.WriteLine("       chaos: [--rounds N (6)] [--records N (30000)] [--mode kill|freeze|mixed|graceful|partition (mixed)] [--form processor|keygrain|stream|stateful|stateful-batch (processor)] [--freeze-seconds LIST (1,5)] [--cut-seconds N (15)] [--seed N (time-based)] [--keep (the events and logs of a run that passed too)]");
    return 2;
}
