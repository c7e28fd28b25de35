using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NSec.Cryptography;

namespace Mesh.Peer.Crypto;

/// <summary>Hands a group key to one member through etcd: sealed to that member's Curve (X25519) public key.</summary>
/// <remarks>
/// An ephemeral X25519 key agrees a secret with the recipient's public key; HKDF-SHA256 turns it into an
/// XChaCha20-Poly1305 key that seals the group key, bound to the group and recipient. Only the holder of the
/// recipient's secret key can open it: an etcd reader sees an ephemeral public key, a nonce and a ciphertext.
/// </remarks>
public static class KeyWrap
{
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;

    public static byte[] Wrap(GroupKey key, string group, string recipientPeerId, byte[] recipientCurvePublicKey)
    {
        using var ephemeral = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var ephemeralPublic = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var recipient = PublicKey.Import(KeyAgreementAlgorithm.X25519, recipientCurvePublicKey, KeyBlobFormat.RawPublicKey);
        using var shared = KeyAgreementAlgorithm.X25519.Agree(ephemeral, recipient)
            ?? throw new CryptographicException("key agreement failed");
        var info = Info(group, recipientPeerId);
        using var sealing = KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, Salt(ephemeralPublic, recipientCurvePublicKey), info, Aead);
        var nonce = RandomNumberGenerator.GetBytes(Aead.NonceSize);
        var ciphertext = Aead.Encrypt(sealing, nonce, info, key.Material);
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["v"] = 1,
            ["epk"] = Convert.ToBase64String(ephemeralPublic),
            ["n"] = Convert.ToBase64String(nonce),
            ["c"] = Convert.ToBase64String(ciphertext),
        });
    }

    /// <summary>Opens a wrapped key meant for this peer; null for anything malformed or not meant for it.</summary>
    public static GroupKey? TryUnwrap(ReadOnlySpan<byte> record, string group, string ownPeerId, byte[] ownCurveSecretKey, byte[] ownCurvePublicKey)
    {
        try
        {
            using var doc = JsonDocument.Parse(record.ToArray(), new JsonDocumentOptions { MaxDepth = 2 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != 1)
            {
                return null;
            }

            var ephemeralPublic = Convert.FromBase64String(root.GetProperty("epk").GetString() ?? "");
            var nonce = Convert.FromBase64String(root.GetProperty("n").GetString() ?? "");
            var ciphertext = Convert.FromBase64String(root.GetProperty("c").GetString() ?? "");
            if (ephemeralPublic.Length != 32 || nonce.Length != Aead.NonceSize)
            {
                return null;
            }

            using var own = Key.Import(KeyAgreementAlgorithm.X25519, ownCurveSecretKey, KeyBlobFormat.RawPrivateKey);
            if (!PublicKey.TryImport(KeyAgreementAlgorithm.X25519, ephemeralPublic, KeyBlobFormat.RawPublicKey, out var ephemeral) || ephemeral is null)
            {
                return null;
            }

            using var shared = KeyAgreementAlgorithm.X25519.Agree(own, ephemeral);
            if (shared is null)
            {
                return null;
            }

            var info = Info(group, ownPeerId);
            using var sealing = KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, Salt(ephemeralPublic, ownCurvePublicKey), info, Aead);
            return Aead.Decrypt(sealing, nonce, info, ciphertext) is { Length: GroupKey.Size } material
                ? GroupKey.FromMaterial(material)
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private static byte[] Info(string group, string peerId) => Encoding.UTF8.GetBytes($"mesh-key-grant/1|{group}|{peerId}");

    private static byte[] Salt(byte[] ephemeralPublic, byte[] recipientPublic) => [.. ephemeralPublic, .. recipientPublic];
}
