namespace OrleansKafka.Testing.Processes;

/// <summary>What a <see cref="SiloProcessCluster"/> starts.</summary>
public sealed class SiloProcessClusterOptions
{
    /// <summary>Silo processes started at once. Default 2.</summary>
    public int Silos { get; set; } = 2;

    /// <summary>Topics the embedded Kafka creates, with their partition counts. Default: the silo host's own (demo topics).</summary>
    public Dictionary<string, int> Topics { get; } = new(StringComparer.Ordinal);

    /// <summary>The embedded brokers' racks, comma-separated, given to brokers 1, 2, ... in turn (<c>a,b,c</c>); default none.</summary>
    public string? BrokerRacks { get; set; }

    /// <summary>Settings for every silo, as environment variables (<c>Kafka__LeaseDuration</c> = <c>00:00:05</c>). <c>Demo__Enabled</c> is false unless set here.</summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>The membership store the silos share: <c>Redis</c> (default) or <c>Postgres</c>.</summary>
    public SiloProcessStore Store { get; set; } = SiloProcessStore.Redis;

    /// <summary>
    /// When set (Linux, run as root), silo <c>n</c> runs under the user id <c>FirstSiloUid + n</c>
    /// (through util-linux's <c>setpriv</c>), so that iptables' owner match can tell the silos'
    /// traffic apart on loopback, where every connection leaves from 127.0.0.1. Default: unset,
    /// every silo runs as the caller.
    /// </summary>
    public int? FirstSiloUid { get; set; }

    /// <summary>Path of <c>OrleansKafka.Silo.dll</c>; default: found from the repository.</summary>
    public string? SiloAssembly { get; set; }
}
