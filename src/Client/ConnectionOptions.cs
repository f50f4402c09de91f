namespace OrleansKafka.Cli;

/// <summary>
/// Where the CLI connects: a silo gateway (host:port) and the cluster's ids, and with
/// <see cref="TlsCertificate"/> the certificate it presents to a gateway that requires TLS (its
/// password from <see cref="TlsPasswordVariable"/>, never from the command line).
/// </summary>
internal sealed record ConnectionOptions(string Gateway, string ClusterId, string ServiceId, string? TlsCertificate = null, string? TlsTrusted = null, int ConnectTimeoutSeconds = ConnectionOptions.DefaultConnectTimeoutSeconds)
{
    /// <summary>How long connecting may take unless <c>--connect-timeout</c> or <see cref="ConnectTimeoutVariable"/> says otherwise.</summary>
    public const int DefaultConnectTimeoutSeconds = 10;

    /// <summary>The environment variable <c>--connect-timeout</c> defaults to (seconds).</summary>
    public const string ConnectTimeoutVariable = "ORLEANS_KAFKA_CONNECT_TIMEOUT";

    /// <summary>The environment variable with the password of <see cref="TlsCertificate"/>.</summary>
    public const string TlsPasswordVariable = "ORLEANS_KAFKA_TLS_PASSWORD";
}
