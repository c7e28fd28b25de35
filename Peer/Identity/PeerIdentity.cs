using System.Security.Cryptography;
using NetMQ;
using NSec.Cryptography;

namespace Mesh.Peer.Identity;

/// <summary>A peer's long-term identity: an Ed25519 signing key (who it is) and a Curve keypair (its links).</summary>
/// <remarks>
/// The peer id is derived from the signing public key, so anything signed by that key proves it came from that
/// peer id, without asking etcd who the peer is. The Curve keypair authenticates and encrypts links, and receives
/// group keys wrapped to it.
/// </remarks>
public sealed class PeerIdentity : IDisposable
{
    public const int PeerIdLength = 32;

    public PeerIdentity(NetMQCertificate certificate, Key signingKey)
    {
        if (!certificate.HasSecretKey)
        {
            throw new ArgumentException("an identity needs the Curve secret key", nameof(certificate));
        }

        Certificate = certificate;
        SigningKey = signingKey;
        SigningPublicKey = signingKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        PeerId = DerivePeerId(SigningPublicKey);
    }

    public NetMQCertificate Certificate { get; }

    public Key SigningKey { get; }

    public byte[] SigningPublicKey { get; }

    /// <summary>Stable across restarts: the first 32 hex digits (128 bits) of SHA-256 over the signing public key.</summary>
    public string PeerId { get; }

    public string PublicKeyZ85 => Certificate.PublicKeyZ85;

    /// <summary>A fingerprint a person can compare: SHA-256 of the signing public key, grouped hex.</summary>
    public string Fingerprint => FingerprintOf(SigningPublicKey);

    /// <summary>The peer id a signing key proves: the start of its SHA-256, in hex.</summary>
    /// <remarks>The last key derived on each thread is remembered: a burst's messages, a history page of one sender, all
    /// carry the same key, and each would otherwise cost a hash through OpenSSL.</remarks>
    public static string DerivePeerId(ReadOnlySpan<byte> signingPublicKey)
    {
        if (t_lastKey is { } last && signingPublicKey.SequenceEqual(last))
        {
            return t_lastId!;
        }

        var id = Convert.ToHexStringLower(SHA256.HashData(signingPublicKey))[..PeerIdLength];
        t_lastKey = signingPublicKey.ToArray();
        t_lastId = id;
        return id;
    }

    [ThreadStatic]
    private static byte[]? t_lastKey;

    [ThreadStatic]
    private static string? t_lastId;

    public static string FingerprintOf(ReadOnlySpan<byte> signingPublicKey)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(signingPublicKey))[..20];
        return string.Join(':', Enumerable.Range(0, 5).Select(i => hex.Substring(i * 4, 4)));
    }

    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(SigningKey, data);

    /// <summary>Checks an Ed25519 signature by <paramref name="signingPublicKey"/>; false for any malformed input.</summary>
    public static bool Verify(ReadOnlySpan<byte> signingPublicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signingPublicKey.Length != 32 || signature.Length != 64)
        {
            return false;
        }

        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, signingPublicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            return false;
        }

        return SignatureAlgorithm.Ed25519.Verify(key, data, signature);
    }

    public void Dispose() => SigningKey.Dispose();
}
