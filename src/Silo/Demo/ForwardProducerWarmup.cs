using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansKafka.Silo.Demo;

/// <summary>
/// Connects the forwarder's producer and reads its output topic's metadata at start, so that the
/// first record a silo forwards (often just after it joined and took partitions over) does not
/// also pay for the producer's connections.
/// </summary>
internal sealed partial class ForwardProducerWarmup(IProducer<byte[], byte[]> producer, IOptions<DemoOptions> options, ILogger<ForwardProducerWarmup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(
            () =>
            {
                try
                {
                    using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
                    admin.GetMetadata(options.Value.ForwardTo, TimeSpan.FromSeconds(5));
                }
                catch (KafkaException ex)
                {
                    LogWarmupFailed(logger, ex, options.Value.ForwardTo);
                }
            },
            CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 9021, Level = LogLevel.Warning, Message = "Reading the metadata of the forwarder's topic {Topic} at start failed; the first forwarded record connects instead")]
    private static partial void LogWarmupFailed(ILogger logger, Exception exception, string topic);
}
