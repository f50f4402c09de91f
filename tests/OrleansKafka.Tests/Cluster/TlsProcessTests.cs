using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Cluster;

/// <summary>
/// Two silo processes with mutual TLS (<c>Silo:Tls:Certificate</c>, a certificate the test makes):
/// they form a cluster and process records, the CLI with the certificate reads their status, and a
/// client without it, or with a certificate of its own, is not let in.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class TlsProcessTests
{
    private const string Topic = "demo-orders";
    private const string Group = "demo-forwarder";
    private const string Password = "pfx-password-of-the-test";

    [Fact]
    public async Task SilosWithTls_ShareTheWorkAndProcessRecords_AndOnlyAClientWithTheCertificateGetsIn()
    {
        var folder = Directory.CreateTempSubdirectory("orleanskafka-tls-").FullName;
        try
        {
            var certificate = WriteCertificate(folder, "cluster");
            var stranger = WriteCertificate(folder, "stranger");
            var options = new SiloProcessClusterOptions { Silos = 2 };
            options.Settings["Silo__Tls__Certificate"] = certificate;
            options.Settings["Silo__Tls__CertificatePassword"] = Password;
            options.Settings["Kafka__Processors__order-totals__Enabled"] = "false";
            options.Settings["Kafka__Processors__customer-totals__Enabled"] = "false";
            options.Settings["Kafka__Processors__kafka__Enabled"] = "false";
            await using var cluster = await SiloProcessCluster.StartAsync(options);
            using var kafka = new KafkaInspector(cluster.BootstrapServers, new Dictionary<string, int> { [Topic] = 12, ["demo-orders-forwarded"] = 12 });
            await kafka.ProduceAsync(Topic, Enumerable.Range(0, 240).Select(i => ((string?)$"key-{i}", (string?)$"value-{i}")));

            await kafka.WaitForCommittedAsync(Group, Topic, TimeSpan.FromSeconds(60));

            var gateway = $"127.0.0.1:{cluster.Silos[0].GatewayPort}";
            string[] owners = [];
            Assert.True(
                await Poll.UntilAsync(
                    async () =>
                    {
                        var (exit, json) = await CliAsync(Password, "status", "--group", Group, "--json", "--gateway", gateway, "--tls-certificate", certificate);
                        owners = exit == 0 ? [.. JsonSerializer.Deserialize<JsonElement[]>(json)!.Select(s => s.GetProperty("silo").GetString()!).Distinct()] : [json];
                        return owners.Length == 2;
                    },
                    TimeSpan.FromSeconds(60)),
                $"the partitions are not shared by both silos over TLS: {string.Join(", ", owners)}");

            var (plainExit, plain) = await CliAsync(null, "status", "--gateway", gateway, "--connect-timeout", "5");
            Assert.Equal(2, plainExit);
            Assert.Contains("Could not connect to a silo gateway", plain);
            var (strangerExit, strangerOutput) = await CliAsync(Password, "status", "--gateway", gateway, "--tls-certificate", stranger, "--connect-timeout", "5");
            Assert.Equal(2, strangerExit);
            Assert.Contains("Could not connect to a silo gateway", strangerOutput);
            Assert.All(cluster.Silos, s => Assert.DoesNotContain(s.Process.Output, line => line.Contains(Password, StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task TheReadmesSilo_OnLocalhostClustering_AlsoAdmitsOnlyAClientWithTheCertificate()
    {
        var folder = Directory.CreateTempSubdirectory("orleanskafka-tls-").FullName;
        try
        {
            var certificate = WriteCertificate(folder, "cluster");
            await using var silo = await SiloHost.StartAsync(new Dictionary<string, string>
            {
                ["Demo__Enabled"] = "false",
                ["Silo__Tls__Certificate"] = certificate,
                ["Silo__Tls__CertificatePassword"] = Password,
            });

            var (plainExit, plain) = await CliAsync(null, "status", "--gateway", silo.Gateway, "--connect-timeout", "5");
            Assert.Equal(2, plainExit);
            Assert.Contains("Could not connect to a silo gateway", plain);
            var (tlsExit, tls) = await CliAsync(Password, "status", "--gateway", silo.Gateway, "--tls-certificate", certificate);
            Assert.True(tlsExit == 0, tls);
            Assert.Contains("demo-order-totals", tls);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A self-signed certificate for server and client authentication, as a password-protected .pfx.</summary>
    private static string WriteCertificate(string folder, string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN=orleans-kafka-{name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(folder, $"{name}.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, Password));
        return path;
    }

    private static async Task<(int ExitCode, string Output)> CliAsync(string? password, params string[] arguments) =>
        await Cli.RunAsync(password is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["ORLEANS_KAFKA_TLS_PASSWORD"] = password }, arguments);
}
