namespace OrleansKafka.Cli;

/// <summary>
/// Where the CLI connects: a silo gateway (host:port) and the cluster's ids, and with
/// <see cref="TlsCertificate"/> the certificate it presents to a gateway that requires TLS (its
/// password from <see cref="TlsPasswordVariable"/>, never from the command line).
/// </summary>
internal sealed record ConnectionOptions(string Gateway, string ClusterId, string ServiceId, string? TlsCertificate = null, string? TlsTrusted = null)
{
    /// <summary>The environment variable with the password of <see cref="TlsCertificate"/>.</summary>
    public const string TlsPasswordVariable = "ORLEANS_KAFKA_TLS_PASSWORD";
}
