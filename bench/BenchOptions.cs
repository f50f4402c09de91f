using System.Globalization;

namespace OrleansKafka.Bench;

internal sealed record BenchOptions(int? Records, int? Partitions, int? FetchConsumers, int? Seconds, int? Silos)
{
    public static BenchOptions Parse(string[] args)
    {
        int? Get(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : null;
        }

        return new BenchOptions(Get("--records"), Get("--partitions"), Get("--fetch-consumers"), Get("--seconds"), Get("--silos"));
    }
}
