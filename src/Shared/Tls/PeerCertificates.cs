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
            local = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{certificateSetting} is '{certificatePath}', which could not be read as a PKCS#12 (.pfx) certificate with its password ({e.Message.TrimEnd('.')}); expected a .pfx file with the certificate and its private key.", e);
        }

        if (!local.HasPrivateKey)
        {
            throw new ArgumentException($"{certificateSetting} is '{certificatePath}', a certificate without its private key; expected a .pfx file with both.");
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

    /// <summary>The remote end's certificate is this one, or was issued by the trusted certificate.</summary>
    public bool Accepts(X509Certificate2? remote)
    {
        if (remote is null)
        {
            return false;
        }

        if (remote.RawDataMemory.Span.SequenceEqual(Local.RawDataMemory.Span))
        {
            return true;
        }

        if (_trusted is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(remote);
    }

    /// <summary>Both ends present a certificate and accept only <see cref="Accepts"/>'s; host names are not checked (silos connect by address).</summary>
    public void Configure(TlsOptions options)
    {
        options.LocalCertificate = Local;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (certificate, _, _) => Accepts(certificate);
    }
}
