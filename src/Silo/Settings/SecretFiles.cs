using Microsoft.Extensions.Configuration;

namespace OrleansKafka.Silo.Settings;

/// <summary>
/// Where the host reads secrets given as files: <c>ORLEANS_KAFKA_SECRETS</c> (an environment
/// variable, as it must be known before the settings are read), by default
/// <c>/run/secrets/orleans-kafka</c>. Each file is one setting named as its environment variable
/// (<c>Silo__Redis</c>, <c>Dashboard__Token</c>, <c>Silo__Tls__CertificatePassword</c>); a
/// missing folder is no error.
/// </summary>
internal static class SecretFiles
{
    public const string Variable = "ORLEANS_KAFKA_SECRETS";
    public const string DefaultDirectory = "/run/secrets/orleans-kafka";

    public static string Directory(IConfiguration configuration) =>
        configuration[Variable] is { Length: > 0 } directory ? Path.GetFullPath(directory) : DefaultDirectory;
}
