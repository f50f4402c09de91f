using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Spectre.Console;

namespace OrleansKafka.Cli;

/// <summary>
/// The <c>produce</c> command: a load producer. Writes <see cref="ProduceOptions.Count"/> demo orders
/// to a topic, paced to <see cref="ProduceOptions.Rate"/> records a second or as fast as Kafka takes
/// them, with a progress bar, and ends with the rate reached. Exit code 0 when Kafka acknowledged
/// every record, 1 when some were not, 2 when it could not start (bad option, Kafka not reachable,
/// no such topic), 130 when stopped by Ctrl+C.
/// </summary>
internal static class ProduceCommand
{
    /// <summary>How long a record may wait for Kafka's acknowledgement before it counts as failed.</summary>
    private const int MessageTimeoutMs = 10_000;

    /// <summary>How long one connection attempt to a broker may take.</summary>
    private const int ConnectTimeoutMs = 3_000;

    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Every record is acknowledged or failed within message.timeout.ms of its produce; a margin on top.</summary>
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromMilliseconds(MessageTimeoutMs) + TimeSpan.FromSeconds(5);

    /// <summary>After Ctrl+C: System.CommandLine ends the process 2 s after it, so the flush must finish before.</summary>
    private static readonly TimeSpan FlushAfterCancelTimeout = TimeSpan.FromSeconds(1.5);

    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(100);

    public static async Task<int> RunAsync(ProduceOptions options, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
            if (CheckTopic(options) is { } problem)
            {
                Error(problem);
                return 2;
            }

            using var producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = options.BootstrapServers,
                Acks = Acks.All,
                EnableIdempotence = true,
                LingerMs = 5,
                MessageTimeoutMs = MessageTimeoutMs,
                SocketConnectionSetupTimeoutMs = ConnectTimeoutMs,
                // Checked above; never create a topic by producing to a misspelt name.
                AllowAutoCreateTopics = false,
            })
                .SetLogHandler((_, _) => { })
                .SetErrorHandler((_, _) => { })
                .Build();

            var run = options.Json || Console.IsOutputRedirected
                ? await ProduceAsync(producer, options, report: null, cancellationToken)
                : await AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask(Markup.Escape(options.Topic), maxValue: options.Count);
                        return await ProduceAsync(
                            producer,
                            options,
                            (tally, elapsed) =>
                            {
                                task.Value = tally.Delivered + tally.Failed;
                                task.Description = string.Create(CultureInfo.InvariantCulture, $"{Markup.Escape(options.Topic)} [grey]{PerSecond(tally.Delivered, elapsed):N0} records/s[/]");
                            },
                            cancellationToken);
                    });
            return Report(options, run);
        }
        catch (ArgumentException ex)
        {
            Error(ex.Message);
            return 2;
        }
        catch (KafkaException ex)
        {
            Error($"Kafka at {options.BootstrapServers}: {ex.Error.Reason}");
            return 2;
        }
    }

    /// <summary>Why the records cannot go to the topic (Kafka does not answer, no such topic), or null when they can.</summary>
    private static string? CheckTopic(ProduceOptions options)
    {
        string? lastError = null;
        using var admin = new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = options.BootstrapServers,
            SocketConnectionSetupTimeoutMs = ConnectTimeoutMs,
            // An admin client is a producer underneath, whose metadata requests may create the topic.
            AllowAutoCreateTopics = false,
        })
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, error) => lastError = error.Reason)
            .Build();
        Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(options.Topic, MetadataTimeout);
        }
        catch (KafkaException ex)
        {
            var detail = Volatile.Read(ref lastError) is { } connection ? $" ({connection})" : string.Empty;
            return $"Could not reach Kafka at {options.BootstrapServers} within {MetadataTimeout.TotalSeconds:0} s: {ex.Error.Reason}{detail}. Check --bootstrap-servers (-b).";
        }

        var topic = metadata.Topics.FirstOrDefault(t => t.Topic == options.Topic);
        if (topic is null || topic.Error.Code == Confluent.Kafka.ErrorCode.UnknownTopicOrPart)
        {
            return $"Topic '{options.Topic}' does not exist on {options.BootstrapServers}; produce creates no topic.";
        }

        if (topic.Error.IsError || topic.Partitions.Count == 0)
        {
            return $"Topic '{options.Topic}' on {options.BootstrapServers} cannot be written to: {(topic.Error.IsError ? topic.Error.Reason : "it has no partitions")}.";
        }

        return null;
    }

    /// <summary>Produces the records, paced, then waits for Kafka's acknowledgements; <paramref name="report"/> is called now and then.</summary>
    private static async Task<ProduceRun> ProduceAsync(IProducer<string, string> producer, ProduceOptions options, Action<DeliveryTally, TimeSpan>? report, CancellationToken cancellationToken)
    {
        var tally = new DeliveryTally();
        Action<DeliveryReport<string, string>> onDelivery = tally.Record;
        var start = Stopwatch.GetTimestamp();
        var nextReport = TimeSpan.Zero;
        long sent = 0;
        var cancelled = false;
        try
        {
            for (long i = 0; i < options.Count; i++)
            {
                if (options.Rate > 0)
                {
                    // Record i is due i/rate seconds after the start, on the monotonic clock: a
                    // late record is sent at once, so the average rate holds.
                    var wait = TimeSpan.FromSeconds(i / options.Rate) - Stopwatch.GetElapsedTime(start);
                    if (wait >= TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, cancellationToken);
                    }
                }

                cancellationToken.ThrowIfCancellationRequested();
                await ProduceOneAsync(producer, options.Topic, options.Record(i), onDelivery, tally, cancellationToken);
                sent++;
                if (report is not null)
                {
                    var elapsed = Stopwatch.GetElapsedTime(start);
                    if (elapsed >= nextReport)
                    {
                        report(tally, elapsed);
                        nextReport = elapsed + ReportInterval;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }

        var flushTimeout = cancelled ? FlushAfterCancelTimeout : FlushTimeout;
        var flushStart = Stopwatch.GetTimestamp();
        while (producer.Flush(ReportInterval) > 0 && Stopwatch.GetElapsedTime(flushStart) < flushTimeout)
        {
            report?.Invoke(tally, Stopwatch.GetElapsedTime(start));
        }

        var seconds = Stopwatch.GetElapsedTime(start);
        report?.Invoke(tally, seconds);
        return new ProduceRun(sent, tally.Delivered, tally.Failed, tally.FirstError, seconds, cancelled);
    }

    /// <summary>Hands one record to the producer, waiting while its queue is full.</summary>
    private static async ValueTask ProduceOneAsync(IProducer<string, string> producer, string topic, Message<string, string> record, Action<DeliveryReport<string, string>> onDelivery, DeliveryTally tally, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, record, onDelivery);
                return;
            }
            catch (ProduceException<string, string> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                // Faster than Kafka acknowledges: let the queue drain.
                await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
            }
            catch (ProduceException<string, string> ex)
            {
                tally.Fail(ex.Error.Reason);
                return;
            }
        }
    }

    /// <summary>Prints the totals (a line, or one JSON object) and returns the exit code.</summary>
    private static int Report(ProduceOptions options, ProduceRun run)
    {
        // Sent but neither acknowledged nor failed when the flush gave up.
        var unacknowledged = Math.Max(0, run.Sent - run.Delivered - run.Failed);
        var failed = run.Failed + unacknowledged;
        var seconds = Math.Round(run.Elapsed.TotalSeconds, 3);
        var perSecond = Math.Round(PerSecond(run.Delivered, run.Elapsed), 1);
        if (options.Json)
        {
            // Plain stdout, not Spectre: scripts parse it.
            Console.Out.WriteLine(JsonSerializer.Serialize(
                new { options.Topic, Produced = run.Delivered, Failed = failed, Seconds = seconds, RecordsPerSecond = perSecond },
                JsonSerializerOptions.Web));
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Produced {run.Delivered:N0} records to {options.Topic} in {seconds:0.00} s: {perSecond:N0} records/s ({failed:N0} failed)"));
        }

        if (failed > 0)
        {
            var why = run.FirstError ?? $"no acknowledgement within {FlushTimeout.TotalSeconds:0} s";
            Error(string.Create(CultureInfo.InvariantCulture, $"{failed:N0} of {run.Sent:N0} records were not delivered to {options.Topic} on {options.BootstrapServers}; the first delivery error: {why}"));
        }

        if (run.Cancelled)
        {
            Error(string.Create(CultureInfo.InvariantCulture, $"Stopped by Ctrl+C after {run.Sent:N0} of {options.Count:N0} records."));
            return 130;
        }

        return failed > 0 ? 1 : 0;
    }

    private static double PerSecond(long records, TimeSpan elapsed) => elapsed > TimeSpan.Zero ? records / elapsed.TotalSeconds : 0;

    private static void Error(string message) => Console.Error.WriteLine($"error: {message}");

    /// <summary>What a run did: records handed to the producer, acknowledged and failed, and how long it took.</summary>
    private sealed record ProduceRun(long Sent, long Delivered, long Failed, string? FirstError, TimeSpan Elapsed, bool Cancelled);

    /// <summary>Counts the delivery reports, which arrive on the producer's poll thread.</summary>
    private sealed class DeliveryTally
    {
        private long _delivered;
        private long _failed;
        private string? _firstError;

        public long Delivered => Interlocked.Read(ref _delivered);

        public long Failed => Interlocked.Read(ref _failed);

        public string? FirstError => Volatile.Read(ref _firstError);

        public void Record(DeliveryReport<string, string> report)
        {
            if (report.Error.IsError)
            {
                Fail(report.Error.Reason);
            }
            else
            {
                Interlocked.Increment(ref _delivered);
            }
        }

        public void Fail(string reason)
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstError, reason, null);
        }
    }
}
