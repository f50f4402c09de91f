using Microsoft.Extensions.Configuration;
using OrleansKafka.Configuration;
using OrleansKafka.Kafka;

namespace OrleansKafka.Silo;

/// <summary>
/// <c>OrleansKafka.Silo kafka</c>: runs the embedded Kafka cluster alone, with the topics of
/// <c>Kafka:Embedded</c>, prints its bootstrap servers and runs until stopped.
/// </summary>
internal static class EmbeddedKafkaHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var options = new EmbeddedKafkaOptions();
        configuration.GetSection("Kafka:Embedded").Bind(options);
        foreach (var (topic, partitions) in options.Topics.Where(t => t.Value <= 0))
        {
            Console.Error.WriteLine($"Kafka:Embedded:Topics:{topic} is {partitions}; expected a partition count of 1 or more.");
            return 2;
        }

        using var kafka = EmbeddedKafkaCluster.Start(options.Brokers);
        kafka.SetBrokerRacks(options.Racks);
        foreach (var (topic, partitions) in options.Topics)
        {
            kafka.CreateTopic(topic, partitions);
        }

        Console.WriteLine($"Embedded Kafka cluster of {options.Brokers} brokers; bootstrap servers: {kafka.BootstrapServers}; topics: {string.Join(", ", options.Topics.Select(t => $"{t.Key} ({t.Value} partitions)"))}");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
