using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace OrleansKafka.Kafka;

/// <summary>Routes librdkafka's own log lines and errors into <see cref="ILogger"/>.</summary>
internal static partial class KafkaClientLog
{
    /// <summary>Logs the client's log lines and errors; <paramref name="onError"/> also sees each error (a fatal one means the client must be rebuilt).</summary>
    public static ConsumerBuilder<TKey, TValue> WithLogging<TKey, TValue>(this ConsumerBuilder<TKey, TValue> builder, ILogger logger, string client, Action<Error>? onError = null) =>
        builder
            .SetLogHandler((_, m) => Write(logger, client, m))
            .SetErrorHandler((_, e) =>
            {
                LogError(logger, client, e.Code.ToString(), e.Reason, e.IsFatal);
                onError?.Invoke(e);
            });

    private static void Write(ILogger logger, string client, LogMessage message)
    {
        var level = message.Level switch
        {
            <= SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        LogLibrdkafka(logger, level, client, message.Facility, message.Message);
    }

    [LoggerMessage(EventId = 1001, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Kafka client {Client} reported {Code}: {Reason} (fatal: {IsFatal})")]
    private static partial void LogError(ILogger logger, string client, string code, string reason, bool isFatal);
}
