using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansKafka.Kafka;

namespace OrleansKafka.Silo.Demo;

/// <summary>Feeds the demo topic with JSON orders keyed by customer, at a steady rate.</summary>
internal sealed partial class DemoTrafficProducer(IOptions<DemoOptions> options, IKafkaConnection kafka, TimeProvider time, ILogger<DemoTrafficProducer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var demo = options.Value;
        if (!demo.Enabled)
        {
            return;
        }

        using var producer = new ProducerBuilder<string, string>(kafka.ClientSettings(new Dictionary<string, string> { ["linger.ms"] = "5" })).Build();
        LogStarted(logger, demo.Topic, demo.RecordsPerSecond, kafka.BootstrapServers);
        var perTick = Math.Max(1, demo.RecordsPerSecond / 10);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1000.0 * perTick / demo.RecordsPerSecond), time);
        long orderId = 0;
        var random = new Random(7);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                for (var i = 0; i < perTick; i++)
                {
                    var customer = $"customer-{random.Next(1000):D4}";
                    var order = new DemoOrder(++orderId, customer, Math.Round((decimal)(random.NextDouble() * 200), 2));
                    producer.Produce(demo.Topic, new Message<string, string> { Key = customer, Value = JsonSerializer.Serialize(order, JsonSerializerOptions.Web) });
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            producer.Flush(TimeSpan.FromSeconds(5));
        }
    }

    [LoggerMessage(EventId = 9011, Level = LogLevel.Information, Message = "Demo traffic: producing to {Topic} at {Rate} records/s on {BootstrapServers}")]
    private static partial void LogStarted(ILogger logger, string topic, int rate, string bootstrapServers);
}
