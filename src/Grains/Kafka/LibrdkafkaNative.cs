using System.Runtime.InteropServices;

namespace OrleansKafka.Kafka;

/// <summary>
/// The librdkafka C functions the product calls itself, bound to the very library
/// Confluent.Kafka already loaded: the mock cluster, which Confluent.Kafka does not wrap, the
/// fetch workers' reading of messages in place (see <see cref="Fetching.LibrdkafkaRecord"/>), and
/// offsets committed and read with their metadata (<see cref="OffsetsWithMetadata"/>).
/// </summary>
/// <remarks>
/// On Debian 12 the default librdkafka build does not load (libsasl2.so.3 is missing) and
/// Confluent.Kafka falls back to another build. Binding by name could pick a different file than
/// the one in use, so the path is read from the process's own memory map.
/// </remarks>
internal static unsafe class LibrdkafkaNative
{
    private static readonly Lazy<Functions> Loaded = new(Load);

    public static Functions Api => Loaded.Value;

    private static Functions Load()
    {
        // Touching the library makes Confluent.Kafka load its native build.
        _ = Confluent.Kafka.Library.Version;
        var path = FindLoadedPath()
            ?? throw new InvalidOperationException("Confluent.Kafka reported librdkafka loaded, but no librdkafka file is mapped into this process; the embedded Kafka cluster cannot start.");
        var handle = NativeLibrary.Load(path);
        return new Functions(handle);
    }

    private static string? FindLoadedPath()
    {
        if (OperatingSystem.IsLinux())
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && line.Contains("librdkafka", StringComparison.Ordinal))
                {
                    return line[slash..].Trim();
                }
            }

            return null;
        }

        // Elsewhere the loader hands back the already-loaded module for the plain name.
        return OperatingSystem.IsWindows() ? "librdkafka.dll" : "librdkafka.dylib";
    }

    // Looked up once: every commit (several a second per silo) asks for a client's handle.
    private static readonly System.Reflection.PropertyInfo? HandleProperty = FindHandleProperty();

    /// <summary>
    /// The <c>rd_kafka_t</c> of a Confluent.Kafka client. Confluent.Kafka keeps it internal
    /// (<c>Handle.LibrdkafkaHandle</c> in the version the project pins), so it is read by
    /// reflection; the pointer is valid until the client is disposed.
    /// </summary>
    /// <returns>
    /// Null when this Confluent.Kafka has no such member (a user's different version): the fetch
    /// workers then read records through <c>Consume</c> and commits carry no metadata, each
    /// saying so in a warning, rather than the silo refusing to start.
    /// </returns>
    public static IntPtr? TryClientHandle(Confluent.Kafka.IClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.Handle is { } owner && HandleProperty?.GetValue(owner) is SafeHandle { IsInvalid: false } handle
            ? handle.DangerousGetHandle()
            : null;
    }

    /// <summary>The <c>rd_kafka_t</c> of a Confluent.Kafka client, for callers that cannot do without it (the embedded cluster's fault injection).</summary>
    /// <exception cref="InvalidOperationException">This Confluent.Kafka does not expose it (see <see cref="TryClientHandle"/>).</exception>
    public static IntPtr ClientHandle(Confluent.Kafka.IClient client) =>
        TryClientHandle(client)
        ?? throw new InvalidOperationException($"Confluent.Kafka {ClientVersion} does not expose its librdkafka handle (Handle.LibrdkafkaHandle).");

    /// <summary>The version of the Confluent.Kafka assembly loaded, for messages.</summary>
    public static Version? ClientVersion => typeof(Confluent.Kafka.Handle).Assembly.GetName().Version;

    /// <summary>
    /// <c>Handle.LibrdkafkaHandle</c>, or else the one non-public instance property of
    /// <c>Handle</c> that holds a <see cref="SafeHandle"/> (a rename in another version).
    /// </summary>
    private static System.Reflection.PropertyInfo? FindHandleProperty()
    {
        const System.Reflection.BindingFlags Members = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic;
        var type = typeof(Confluent.Kafka.Handle);
        if (type.GetProperty("LibrdkafkaHandle", Members) is { } named && typeof(SafeHandle).IsAssignableFrom(named.PropertyType))
        {
            return named;
        }

        var candidates = type.GetProperties(Members).Where(p => typeof(SafeHandle).IsAssignableFrom(p.PropertyType)).ToList();
        return candidates.Count == 1 ? candidates[0] : null;
    }

    /// <summary>librdkafka's <c>rd_kafka_message_t</c>, whose layout is part of its stable C ABI.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Message
    {
        public int Error;
        public IntPtr Topic;
        public int Partition;
        public IntPtr Payload;
        public nuint Length;
        public IntPtr Key;
        public nuint KeyLength;
        public long Offset;
        public IntPtr Private;
    }

    internal sealed class Functions(IntPtr library)
    {
        public readonly delegate* unmanaged<IntPtr, int, Message*> ConsumerPoll =
            (delegate* unmanaged<IntPtr, int, Message*>)NativeLibrary.GetExport(library, "rd_kafka_consumer_poll");

        public readonly delegate* unmanaged<Message*, void> MessageDestroy =
            (delegate* unmanaged<Message*, void>)NativeLibrary.GetExport(library, "rd_kafka_message_destroy");

        public readonly delegate* unmanaged<Message*, int*, long> MessageTimestamp =
            (delegate* unmanaged<Message*, int*, long>)NativeLibrary.GetExport(library, "rd_kafka_message_timestamp");

        public readonly delegate* unmanaged<Message*, IntPtr*, int> MessageHeaders =
            (delegate* unmanaged<Message*, IntPtr*, int>)NativeLibrary.GetExport(library, "rd_kafka_message_headers");

        public readonly delegate* unmanaged<IntPtr, nuint> HeaderCount =
            (delegate* unmanaged<IntPtr, nuint>)NativeLibrary.GetExport(library, "rd_kafka_header_cnt");

        public readonly delegate* unmanaged<IntPtr, nuint, byte**, byte**, nuint*, int> HeaderGetAll =
            (delegate* unmanaged<IntPtr, nuint, byte**, byte**, nuint*, int>)NativeLibrary.GetExport(library, "rd_kafka_header_get_all");

        public readonly delegate* unmanaged<IntPtr, byte*> TopicName =
            (delegate* unmanaged<IntPtr, byte*>)NativeLibrary.GetExport(library, "rd_kafka_topic_name");

        public readonly delegate* unmanaged<IntPtr> ConfNew =
            (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, "rd_kafka_conf_new");

        public readonly delegate* unmanaged<IntPtr, byte*, byte*, byte*, nuint, int> ConfSet =
            (delegate* unmanaged<IntPtr, byte*, byte*, byte*, nuint, int>)NativeLibrary.GetExport(library, "rd_kafka_conf_set");

        public readonly delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr> New =
            (delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr>)NativeLibrary.GetExport(library, "rd_kafka_new");

        public readonly delegate* unmanaged<IntPtr, void> Destroy =
            (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(library, "rd_kafka_destroy");

        public readonly delegate* unmanaged<IntPtr, int, IntPtr> MockClusterNew =
            (delegate* unmanaged<IntPtr, int, IntPtr>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_new");

        public readonly delegate* unmanaged<IntPtr, void> MockClusterDestroy =
            (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_destroy");

        public readonly delegate* unmanaged<IntPtr, byte*> MockClusterBootstraps =
            (delegate* unmanaged<IntPtr, byte*>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_bootstraps");

        public readonly delegate* unmanaged<IntPtr, byte*, int, int, int> MockTopicCreate =
            (delegate* unmanaged<IntPtr, byte*, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_topic_create");

        public readonly delegate* unmanaged<IntPtr, int, int> MockBrokerSetDown =
            (delegate* unmanaged<IntPtr, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_broker_set_down");

        public readonly delegate* unmanaged<IntPtr, int, int> MockBrokerSetUp =
            (delegate* unmanaged<IntPtr, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_broker_set_up");

        public readonly delegate* unmanaged<IntPtr, byte*, byte*, int, int> MockCoordinatorSet =
            (delegate* unmanaged<IntPtr, byte*, byte*, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_coordinator_set");

        public readonly delegate* unmanaged<IntPtr, int, void> MockSetControllerId =
            (delegate* unmanaged<IntPtr, int, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_set_controller_id");

        public readonly delegate* unmanaged<IntPtr, int, byte*, int> MockBrokerSetRack =
            (delegate* unmanaged<IntPtr, int, byte*, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_broker_set_rack");

        public readonly delegate* unmanaged<IntPtr, byte*, int, int, int> MockPartitionSetLeader =
            (delegate* unmanaged<IntPtr, byte*, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_partition_set_leader");

        public readonly delegate* unmanaged<IntPtr, int, int, int> MockBrokerSetRtt =
            (delegate* unmanaged<IntPtr, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_broker_set_rtt");

        public readonly delegate* unmanaged<IntPtr, short, nuint, int*, void> MockPushRequestErrors =
            (delegate* unmanaged<IntPtr, short, nuint, int*, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_push_request_errors_array");

        public readonly delegate* unmanaged<IntPtr, int, byte*, int> TestFatalError =
            (delegate* unmanaged<IntPtr, int, byte*, int>)NativeLibrary.GetExport(library, "rd_kafka_test_fatal_error");

        public readonly delegate* unmanaged<int, PartitionList*> PartitionListNew =
            (delegate* unmanaged<int, PartitionList*>)NativeLibrary.GetExport(library, "rd_kafka_topic_partition_list_new");

        public readonly delegate* unmanaged<PartitionList*, byte*, int, TopicPartition*> PartitionListAdd =
            (delegate* unmanaged<PartitionList*, byte*, int, TopicPartition*>)NativeLibrary.GetExport(library, "rd_kafka_topic_partition_list_add");

        public readonly delegate* unmanaged<PartitionList*, void> PartitionListDestroy =
            (delegate* unmanaged<PartitionList*, void>)NativeLibrary.GetExport(library, "rd_kafka_topic_partition_list_destroy");

        public readonly delegate* unmanaged<IntPtr, PartitionList*, int, int> Commit =
            (delegate* unmanaged<IntPtr, PartitionList*, int, int>)NativeLibrary.GetExport(library, "rd_kafka_commit");

        public readonly delegate* unmanaged<IntPtr, PartitionList*, int, int> Committed =
            (delegate* unmanaged<IntPtr, PartitionList*, int, int>)NativeLibrary.GetExport(library, "rd_kafka_committed");
    }

    /// <summary>librdkafka's <c>rd_kafka_topic_partition_t</c> (stable C ABI): Confluent.Kafka does not pass its <c>metadata</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct TopicPartition
    {
        public IntPtr Topic;
        public int Partition;
        public long Offset;
        public void* Metadata;
        public nuint MetadataSize;
        public IntPtr Opaque;
        public int Error;
        public IntPtr Private;
    }

    /// <summary>librdkafka's <c>rd_kafka_topic_partition_list_t</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PartitionList
    {
        public int Count;
        public int Size;
        public TopicPartition* Elements;
    }
}
