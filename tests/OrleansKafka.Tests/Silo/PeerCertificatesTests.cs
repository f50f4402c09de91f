using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansKafka.Tls;

namespace OrleansKafka.Tests.Silo;

/// <summary>Which remote certificates the mutual TLS of silos and the CLI accepts, with a private CA and an intermediate made here.</summary>
public sealed class PeerCertificatesTests : IDisposable
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
    private readonly string _folder = Directory.CreateTempSubdirectory("orleanskafka-certificates-").FullName;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    // Each issuer's validity covers what it issues (CertificateRequest.Create refuses otherwise), from one instant.
    private readonly X509Certificate2 _root = Authority("root", issuer: null, Now.AddDays(-10), Now.AddDays(30));
    private readonly X509Certificate2 _intermediate;

    public PeerCertificatesTests() => _intermediate = Authority("intermediate", _root, Now.AddDays(-9), Now.AddDays(29));

    [Fact]
    public void ACertificateOfTheCa_ThroughTheIntermediateTheRemoteSent_IsAccepted_WithoutIt_OrWithTheWrongUsage_IsNot()
    {
        var peers = Load(Leaf("own", _root, ServerAuthentication, ClientAuthentication), trusted: _root);
        using var remote = Leaf("remote", _intermediate, ServerAuthentication, ClientAuthentication);
        using var webServer = Leaf("web-server", _intermediate, ServerAuthentication);
        using var presented = new X509Chain();
        presented.ChainPolicy.ExtraStore.Add(_intermediate);

        Assert.True(peers.Accepts(remote, presented));
        Assert.False(peers.Accepts(remote));
        Assert.False(peers.Accepts(webServer, presented));
        Assert.False(peers.Accepts(null));
    }

    [Fact]
    public void WithoutACa_OnlyTheSameCertificateIsAccepted_AndAnExpiredOneIsRefusedAtLoad()
    {
        var own = Leaf("own", _root, ServerAuthentication, ClientAuthentication);
        var peers = Load(own, trusted: null);
        using var other = Leaf("other", _root, ServerAuthentication, ClientAuthentication);

        Assert.True(peers.Accepts(X509CertificateLoader.LoadCertificate(own.RawData)));
        Assert.False(peers.Accepts(other));
        var expired = Leaf("expired", _root, Now.AddDays(-2), Now.AddDays(-1), ServerAuthentication, ClientAuthentication);
        var error = Assert.Throws<ArgumentException>(() => Load(expired, trusted: null));
        Assert.Contains("expected one valid now", error.Message);
    }

    public void Dispose()
    {
        _root.Dispose();
        _intermediate.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private PeerCertificates Load(X509Certificate2 own, X509Certificate2? trusted)
    {
        var pfx = Path.Combine(_folder, $"{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(pfx, own.Export(X509ContentType.Pfx, "pw"));
        string? ca = null;
        if (trusted is not null)
        {
            ca = Path.Combine(_folder, $"{Guid.NewGuid():N}.crt");
            File.WriteAllText(ca, trusted.ExportCertificatePem());
        }

        return PeerCertificates.Load(pfx, "pw", ca, "Silo:Tls:Certificate", "Silo:Tls:Trusted");
    }

    private static X509Certificate2 Authority(string name, X509Certificate2? issuer, DateTimeOffset from, DateTimeOffset until)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(from, until);
        }

        using var signed = request.Create(issuer, from, until, RandomNumberGenerator.GetBytes(8));
        return signed.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 Leaf(string name, X509Certificate2 issuer, params string[] usages) =>
        Leaf(name, issuer, Now.AddMinutes(-5), Now.AddDays(1), usages);

    private static X509Certificate2 Leaf(string name, X509Certificate2 issuer, DateTimeOffset from, DateTimeOffset until, params string[] usages)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var oids = new OidCollection();
        foreach (var usage in usages)
        {
            oids.Add(new Oid(usage));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, critical: false));
        using var signed = request.Create(issuer, from, until, RandomNumberGenerator.GetBytes(8));
        return signed.CopyWithPrivateKey(key);
    }
}
