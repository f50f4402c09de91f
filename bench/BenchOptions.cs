using System.Globalization;

namespace OrleansKafka.Bench;

internal sealed record BenchOptions(int? Records, int? Partitions, int? FetchConsumers, int? Seconds, int? Silos)
{
    /// <summary>chaos: rounds of faults, one every 10 s.</summary>
    public int? Rounds { get; init; }

    /// <summary>chaos: <c>kill</c>, <c>freeze</c>, <c>mixed</c>, <c>graceful</c> or <c>partition</c>.</summary>
    public string? Mode { get; init; }

    /// <summary>chaos: the processor form audited: <c>processor</c>, <c>keygrain</c>, <c>stream</c>, <c>stateful</c> or <c>stateful-batch</c>.</summary>
    public string? Form { get; init; }

    /// <summary>chaos: comma-separated freeze lengths in seconds, used in turn.</summary>
    public string? FreezeSeconds { get; init; }

    /// <summary>chaos, mode partition: how long each network partition lasts, in seconds.</summary>
    public int? CutSeconds { get; init; }

    /// <summary>chaos: the seed of the choice of silos.</summary>
    public int? Seed { get; init; }

    /// <summary>chaos: keep the audit events and silo logs also when the run passed.</summary>
    public bool Keep { get; init; }

    /// <summary>throughput: give the product the raw patterns' fetch settings and a fetch consumer per partition, instead of its defaults.</summary>
    public bool Tuned { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        string? Text(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int? Get(string name) => Text(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : null;

        return new BenchOptions(Get("--records"), Get("--partitions"), Get("--fetch-consumers"), Get("--seconds"), Get("--silos"))
        {
            Tuned = args.Contains("--tuned"),
            Keep = args.Contains("--keep"),
            Rounds = Get("--rounds"),
            Mode = Text("--mode"),
            Form = Text("--form"),
            FreezeSeconds = Text("--freeze-seconds"),
            Seed = Get("--seed"),
            CutSeconds = Get("--cut-seconds"),
        };
    }
}
