using System.Security.Cryptography;
using NetMQ;

namespace Mesh.Peer.Identity;

/// <summary>A peer's long-term identity: its Curve keypair, and the id derived from the public key.</summary>
public sealed class PeerIdentity
{
    public PeerIdentity(NetMQCertificate certificate)
    {
        if (!certificate.HasSecretKey)
        {
            throw new ArgumentException("an identity needs the secret key", nameof(certificate));
        }

        Certificate = certificate;
        PeerId = DerivePeerId(certificate.PublicKey);
    }

    public NetMQCertificate Certificate { get; }

    /// <summary>Stable across restarts: the first 16 hex digits of SHA-256 over the public key.</summary>
    public string PeerId { get; }

    public string PublicKeyZ85 => Certificate.PublicKeyZ85;

    /// <summary>A short fingerprint a person can compare: SHA-256 of the public key, grouped hex.</summary>
    public string Fingerprint => FingerprintOf(Certificate.PublicKey);

    public static string DerivePeerId(byte[] publicKey) =>
        Convert.ToHexStringLower(SHA256.HashData(publicKey))[..16];

    public static string FingerprintOf(byte[] publicKey)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(publicKey))[..20];
        return string.Join(':', Enumerable.Range(0, 5).Select(i => hex.Substring(i * 4, 4)));
    }
}
