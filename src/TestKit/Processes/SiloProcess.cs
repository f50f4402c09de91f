namespace OrleansKafka.Testing.Processes;

/// <summary>One silo host process of a <see cref="SiloProcessCluster"/>.</summary>
/// <param name="Name">silo-0, silo-1, ... in start order.</param>
/// <param name="Endpoint">Its silo endpoint, <c>127.0.0.1:port</c>: the identity it holds leases under.</param>
/// <param name="GatewayPort">Its client gateway port on 127.0.0.1.</param>
/// <param name="Process">The process.</param>
public sealed record SiloProcess(string Name, string Endpoint, int GatewayPort, ChildProcess Process)
{
    /// <summary>The user id it runs under, when <see cref="SiloProcessClusterOptions.FirstSiloUid"/> is set; otherwise null.</summary>
    public int? Uid { get; init; }
}
