using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace OrleansKafka.Tls;

/// <summary>
/// Mutual TLS for Orleans connections (silo to silo, client to gateway): the certificate this
/// process presents, and the only remote certificates it accepts, which are the same certificate
/// (one certificate shared by the cluster and its operators) or one issued by the configured
/// trusted certificate (a private CA). A certificate the system's store trusts is not enough:
/// anyone can get one of those. Linked into the silo host and the CLI, which both connect.
/// </summary>
internal sealed class PeerCertificates
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2? _trusted;

    private PeerCertificates(X509Certificate2 local, X509Certificate2? trusted)
    {
        Local = local;
        _trusted = trusted;
    }

    /// <summary>The certificate (with its private key) this process presents.</summary>
    public X509Certificate2 Local { get; }

    /// <summary>
    /// Loads a PKCS#12 file (<c>.pfx</c>) with its private key, and optionally a trusted (CA)
    /// certificate in PEM or DER. Messages name <paramref name="certificateSetting"/> and
    /// <paramref name="trustedSetting"/>, never the password.
    /// </summary>
    /// <exception cref="ArgumentException">A file is missing, unreadable, or the certificate has no private key.</exception>
    public static PeerCertificates Load(string certificatePath, string? password, string? trustedPath, string certificateSetting, string trustedSetting)
    {
        X509Certificate2 local;
        try
        {
            // An ephemeral key stays in memory (nothing written to disk) where the platform allows it: Linux.
            local = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password, OperatingSystem.IsLinux() ? X509KeyStorageFlags.EphemeralKeySet : X509KeyStorageFlags.DefaultKeySet);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            throw new ArgumentException($"{certificateSetting} is '{certificatePath}', which could not be read as a PKCS#12 (.pfx) certificate with its password ({e.Message.TrimEnd('.')}); expected a .pfx file with the certificate and its private key.", e);
        }

        if (!local.HasPrivateKey)
        {
            throw new ArgumentException($"{certificateSetting} is '{certificatePath}', a certificate without its private key; expected a .pfx file with both.");
        }

        if (!IsCurrent(local))
        {
            throw new ArgumentException($"{certificateSetting} is '{certificatePath}', a certificate valid from {local.NotBefore:u} to {local.NotAfter:u} only; expected one valid now.");
        }

        X509Certificate2? trusted = null;
        if (!string.IsNullOrEmpty(trustedPath))
        {
            try
            {
                trusted = X509CertificateLoader.LoadCertificateFromFile(trustedPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"{trustedSetting} is '{trustedPath}', which could not be read as a certificate ({e.Message.TrimEnd('.')}); expected a PEM or DER certificate of the CA that issues the cluster's certificates.", e);
            }
        }

        return new PeerCertificates(local, trusted);
    }

    /// <summary>
    /// The remote end's certificate is this one (and still valid), or was issued, for both server
    /// and client authentication, by the trusted certificate, through the intermediates the remote
    /// end sent (<paramref name="presented"/>). Nothing is downloaded: a certificate's own URLs are
    /// the remote end's to choose.
    /// </summary>
    public bool Accepts(X509Certificate2? remote, X509Chain? presented = null)
    {
        if (remote is null)
        {
            return false;
        }

        if (remote.RawDataMemory.Span.SequenceEqual(Local.RawDataMemory.Span))
        {
            return IsCurrent(remote);
        }

        if (_trusted is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthentication));
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(remote);
    }

    private static bool IsCurrent(X509Certificate2 certificate) =>
        DateTime.Now >= certificate.NotBefore && DateTime.Now <= certificate.NotAfter;

    /// <summary>Both ends present a certificate and accept only <see cref="Accepts"/>'s; host names are not checked (silos connect by address).</summary>
    public void Configure(TlsOptions options)
    {
        options.LocalCertificate = Local;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (certificate, chain, _) => Accepts(certificate, chain);
    }
}
