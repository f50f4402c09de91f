using System.Text;
using Confluent.Kafka;

namespace OrleansKafka.Kafka;

/// <summary>Faults librdkafka can fabricate in a client, for tests of how the product recovers.</summary>
internal static unsafe class KafkaFaultInjection
{
    /// <summary>
    /// Raises a fatal error in <paramref name="client"/> (librdkafka's <c>rd_kafka_test_fatal_error</c>):
    /// the client stops fetching for good, as after a real fatal error, and must be rebuilt.
    /// </summary>
    public static void RaiseFatalError(IClient client, string reason)
    {
        ArgumentNullException.ThrowIfNull(client);
        var text = Encoding.UTF8.GetBytes(reason + "\0");
        int error;
        fixed (byte* p = text)
        {
            // Any error code will do; librdkafka reports it as the underlying cause of the fatal error.
            error = LibrdkafkaNative.Api.TestFatalError(LibrdkafkaNative.ClientHandle(client), (int)Confluent.Kafka.ErrorCode.OutOfOrderSequenceNumber, p);
        }

        if (error != 0)
        {
            throw new InvalidOperationException($"librdkafka refused to raise a test fatal error (error code {error}); a fatal error was raised before.");
        }
    }
}
