using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using OrleansKafka.Kafka;

namespace OrleansKafka.Fetching;

/// <summary>
/// A fetch worker's path from librdkafka to its buffers: polls the consumer once and copies the
/// message it returns, read in place (<see cref="LibrdkafkaRecord"/>), into its partition's
/// buffer; or, where the librdkafka handle is not available, the record <c>Consume</c> returns
/// (<see cref="ConsumedRecord"/>). Used only by the worker's thread.
/// </summary>
internal sealed class MessageRouter(ConcurrentDictionary<TopicPartition, PartitionBuffer> buffers)
{
    private readonly LibrdkafkaNative.Functions _api = LibrdkafkaNative.Api;

    // The topic of the last record's buffer, in UTF-8, to compare librdkafka's topic names with.
    private byte[] _lastTopic = [];

    /// <summary>Polls <paramref name="handle"/> (an rd_kafka_t) once, waiting up to <paramref name="timeoutMs"/>.</summary>
    /// <returns>
    /// Null when no record came (nothing ready, or the end of a partition); else whether the buffer
    /// that took it (<paramref name="last"/>) holds a full delivery and should be woken now. A
    /// buffer that took a record for the first time since it was last woken joins <paramref name="unsignalled"/>.
    /// </returns>
    /// <exception cref="KafkaException">The consumer reported an error (other than a partition's offset out of range, which goes to its buffer).</exception>
    public unsafe bool? PollOne(IntPtr handle, int timeoutMs, List<PartitionBuffer> unsignalled, ref PartitionBuffer? last)
    {
        var message = _api.ConsumerPoll(handle, timeoutMs);
        if (message is null)
        {
            return null;
        }

        try
        {
            if (message->Error == (int)Confluent.Kafka.ErrorCode.Local_PartitionEOF)
            {
                return null;
            }

            if (message->Error != 0)
            {
                var code = (Confluent.Kafka.ErrorCode)message->Error;
                var reason = message->Payload == IntPtr.Zero ? new Error(code).Reason : Marshal.PtrToStringUTF8(message->Payload, checked((int)message->Length));
                if (code == Confluent.Kafka.ErrorCode.Local_AutoOffsetReset && message->Topic != IntPtr.Zero
                    && buffers.GetValueOrDefault(new TopicPartition(Encoding.UTF8.GetString(TopicOf(message)), message->Partition)) is { } reset)
                {
                    // The offset to read from is not in Kafka (auto.offset.reset is "error"): the
                    // consumer stopped fetching the partition, and its grain decides what follows.
                    reset.ReportOffsetReset(message->Offset, reason ?? code.ToString());
                    return null;
                }

                if (message->Topic != IntPtr.Zero)
                {
                    // The partition the error is about, when it is about one: the operator needs it.
                    reason = $"{reason} (topic {Encoding.UTF8.GetString(TopicOf(message))}, partition {message->Partition})";
                }

                throw new KafkaException(new Error(code, reason));
            }

            // Consecutive records mostly come from one partition: skip the lookup then. A closed
            // buffer may have been replaced by a new one for the same partition (a re-grant).
            var topic = TopicOf(message);
            if (last is null || last.IsClosed || last.Partition.Partition.Value != message->Partition || !topic.SequenceEqual(_lastTopic))
            {
                last = buffers.GetValueOrDefault(new TopicPartition(Encoding.UTF8.GetString(topic), message->Partition));
                _lastTopic = topic.ToArray();
                if (last is not null && !unsignalled.Contains(last))
                {
                    unsignalled.Add(last);
                }
            }

            return last is not null && last.Append(new LibrdkafkaRecord(_api, message));
        }
        finally
        {
            _api.MessageDestroy(message);
        }
    }

    /// <summary>
    /// As <see cref="PollOne(IntPtr, int, List{PartitionBuffer}, ref PartitionBuffer?)"/>, through
    /// Confluent.Kafka's <c>Consume</c> (records as the client's objects).
    /// </summary>
    public bool? PollOne(IConsumer<byte[], byte[]> consumer, int timeoutMs, List<PartitionBuffer> unsignalled, ref PartitionBuffer? last)
    {
        ConsumeResult<byte[], byte[]>? result;
        try
        {
            result = consumer.Consume(timeoutMs);
        }
        catch (ConsumeException ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_AutoOffsetReset
            && ex.ConsumerRecord?.TopicPartition is { } partition && buffers.GetValueOrDefault(partition) is { } reset)
        {
            reset.ReportOffsetReset(ex.ConsumerRecord.Offset.Value, ex.Error.Reason);
            return null;
        }

        if (result is null || result.IsPartitionEOF)
        {
            return null;
        }

        if (last is null || last.IsClosed || last.Partition != result.TopicPartition)
        {
            last = buffers.GetValueOrDefault(result.TopicPartition);
            if (last is not null && !unsignalled.Contains(last))
            {
                unsignalled.Add(last);
            }
        }

        return last is not null && last.Append(new ConsumedRecord(result));
    }

    /// <summary>The name of a message's topic in UTF-8, as librdkafka holds it.</summary>
    private unsafe ReadOnlySpan<byte> TopicOf(LibrdkafkaNative.Message* message) =>
        MemoryMarshal.CreateReadOnlySpanFromNullTerminated(_api.TopicName(message->Topic));
}
