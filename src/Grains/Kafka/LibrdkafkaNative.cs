using System.Runtime.InteropServices;

namespace OrleansKafka.Kafka;

/// <summary>
/// The few librdkafka C functions Confluent.Kafka does not wrap (the mock cluster), bound to the
/// very library Confluent.Kafka already loaded.
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

    internal sealed class Functions(IntPtr library)
    {
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

        public readonly delegate* unmanaged<IntPtr, byte*, int, int, int> MockPartitionSetLeader =
            (delegate* unmanaged<IntPtr, byte*, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_partition_set_leader");

        public readonly delegate* unmanaged<IntPtr, short, nuint, int*, void> MockPushRequestErrors =
            (delegate* unmanaged<IntPtr, short, nuint, int*, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_push_request_errors_array");

        public readonly delegate* unmanaged<IntPtr, int, byte*, int> TestFatalError =
            (delegate* unmanaged<IntPtr, int, byte*, int>)NativeLibrary.GetExport(library, "rd_kafka_test_fatal_error");
    }
}
