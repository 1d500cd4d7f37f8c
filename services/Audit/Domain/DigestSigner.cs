using System.Security.Cryptography;

namespace CallLogs.Audit.Domain;

/// <summary>SHA256withRSA (PKCS #1 v1.5) signatures of digests, with the private key from configuration or a generated one.</summary>
public sealed class DigestSigner : IDisposable
{
    private readonly RSA _rsa;

    public DigestSigner(string? privateKeyPem)
    {
        _rsa = RSA.Create();
        if (string.IsNullOrWhiteSpace(privateKeyPem))
        {
            _rsa.KeySize = 2048;
        }
        else
        {
            _rsa.ImportFromPem(privateKeyPem);
        }

        PublicKeyPem = _rsa.ExportSubjectPublicKeyInfoPem();
        Fingerprint = FingerprintOf(PublicKeyPem);
    }

    public string PublicKeyPem { get; }

    /// <summary>Hex SHA-256 of the DER public key (SubjectPublicKeyInfo).</summary>
    public string Fingerprint { get; }

    public string Sign(byte[] signingString) =>
        Convert.ToHexStringLower(_rsa.SignData(signingString, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    public static bool Verify(string publicKeyPem, byte[] signingString, string signatureHex)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(publicKeyPem);
        try
        {
            return rsa.VerifyData(signingString, Convert.FromHexString(signatureHex), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static string FingerprintOf(string publicKeyPem)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(publicKeyPem);
        return Convert.ToHexStringLower(SHA256.HashData(rsa.ExportSubjectPublicKeyInfo()));
    }

    public void Dispose() => _rsa.Dispose();
}
