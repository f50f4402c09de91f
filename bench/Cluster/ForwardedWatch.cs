using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Bench.Cluster;

/// <summary>
/// Watches the silo host's <c>forwarder</c> output from the outside: for each source partition,
/// when each forwarded record arrived and which silo (the <c>x-silo</c> header) processed it.
/// </summary>
internal sealed class ForwardedWatch : IDisposable
{
    private readonly List<Arrival>[] _arrivals;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public ForwardedWatch(string bootstrapServers, string topic, int partitions)
    {
        _arrivals = [.. Enumerable.Range(0, partitions).Select(_ => new List<Arrival>())];
        var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "bench-forwarded-watch",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 5,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.End)));
        _thread = new Thread(() => Run(consumer)) { IsBackground = true, Name = "forwarded-watch" };
        _thread.Start();
    }

    public readonly record struct Arrival(long Timestamp, string Silo);

    public int Partitions => _arrivals.Length;

    /// <summary>The silo that forwarded the latest record of each partition, and when that arrived (null: nothing yet).</summary>
    public Arrival?[] Latest()
    {
        var latest = new Arrival?[_arrivals.Length];
        for (var p = 0; p < _arrivals.Length; p++)
        {
            lock (_arrivals[p])
            {
                latest[p] = _arrivals[p].Count > 0 ? _arrivals[p][^1] : null;
            }
        }

        return latest;
    }

    /// <summary>Arrivals on one partition between two timestamps.</summary>
    public List<Arrival> Between(int partition, long from, long to)
    {
        lock (_arrivals[partition])
        {
            return [.. _arrivals[partition].Where(a => a.Timestamp >= from && a.Timestamp <= to)];
        }
    }

    /// <summary>The longest time between consecutive arrivals on a partition between two timestamps, in seconds.</summary>
    public double LongestGap(int partition, long from, long to)
    {
        var arrivals = Between(partition, from, to);
        var gap = 0.0;
        for (var i = 1; i < arrivals.Count; i++)
        {
            gap = Math.Max(gap, Stopwatch.GetElapsedTime(arrivals[i - 1].Timestamp, arrivals[i].Timestamp).TotalSeconds);
        }

        return gap;
    }

    /// <summary>For tracing: the wall-clock time of the longest gap on a partition and the silos either side of it.</summary>
    public string Describe(int partition, long from, long to)
    {
        var arrivals = Between(partition, from, to);
        var at = 0;
        for (var i = 1; i + 1 < arrivals.Count; i++)
        {
            if (arrivals[i + 1].Timestamp - arrivals[i].Timestamp > arrivals[at + 1].Timestamp - arrivals[at].Timestamp)
            {
                at = i;
            }
        }

        if (arrivals.Count < 2)
        {
            return $"partition {partition}: fewer than two arrivals";
        }

        var wall = (long ts) => (DateTime.Now - Stopwatch.GetElapsedTime(ts)).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        return $"partition {partition}: gap from {wall(arrivals[at].Timestamp)} ({arrivals[at].Silo}) to {wall(arrivals[at + 1].Timestamp)} ({arrivals[at + 1].Silo})";
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }

    private void Run(IConsumer<Ignore, Ignore> consumer)
    {
        using (consumer)
        {
            var silos = new Dictionary<string, string>(StringComparer.Ordinal);
            while (!_stop.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is null)
                {
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                var partition = int.Parse(Encoding.UTF8.GetString(result.Message.Headers.GetLastBytes("x-source-partition")), CultureInfo.InvariantCulture);
                var silo = Encoding.UTF8.GetString(result.Message.Headers.GetLastBytes("x-silo"));
                if (!silos.TryGetValue(silo, out var interned))
                {
                    silos[silo] = interned = silo;
                }

                lock (_arrivals[partition])
                {
                    _arrivals[partition].Add(new Arrival(now, interned));
                }
            }
        }
    }
}
