using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mesh.Peer.Configuration;
using NSec.Cryptography;

namespace Mesh.Peer.Crypto;

/// <summary>An invite to a private group: a secret that travels out of band (the code), and the group key sealed
/// under it in etcd. Without the code, the sealed key in etcd is useless.</summary>
public sealed class Invite
{
    private const string Prefix = "mesh1.";
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;

    private Invite(byte[] secret)
    {
        Secret = secret;
        Id = Convert.ToHexStringLower(SHA256.HashData([.. "mesh-invite-id/1|"u8, .. secret]))[..16];
    }

    public byte[] Secret { get; }

    /// <summary>Where the sealed key lives in etcd; derived from the secret, so the code alone finds it.</summary>
    public string Id { get; }

    /// <summary>What the invitee types: <c>mesh1.</c> and 43 base64url characters.</summary>
    public string Code => Prefix + Base64Url(Secret);

    public static Invite Create() => new(RandomNumberGenerator.GetBytes(32));

    public static Invite Parse(string code)
    {
        code = code.Trim();
        byte[]? secret = null;
        if (code.StartsWith(Prefix, StringComparison.Ordinal))
        {
            try
            {
                var b64 = code[Prefix.Length..].Replace('-', '+').Replace('_', '/');
                secret = Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '='));
            }
            catch (FormatException)
            {
            }
        }

        if (secret is not { Length: 32 })
        {
            throw new MeshException("--invite: not an invite code (it looks like mesh1. followed by 43 characters)", 2);
        }

        return new Invite(secret);
    }

    public byte[] Seal(GroupKey key, string group)
    {
        using var sealing = DeriveKey(group);
        var nonce = RandomNumberGenerator.GetBytes(Aead.NonceSize);
        var ciphertext = Aead.Encrypt(sealing, nonce, Info(group), key.Material);
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["v"] = 1,
            ["n"] = Convert.ToBase64String(nonce),
            ["c"] = Convert.ToBase64String(ciphertext),
        });
    }

    public GroupKey? TryOpen(ReadOnlySpan<byte> record, string group)
    {
        try
        {
            using var doc = JsonDocument.Parse(record.ToArray(), new JsonDocumentOptions { MaxDepth = 2 });
            var nonce = Convert.FromBase64String(doc.RootElement.GetProperty("n").GetString() ?? "");
            var ciphertext = Convert.FromBase64String(doc.RootElement.GetProperty("c").GetString() ?? "");
            if (nonce.Length != Aead.NonceSize)
            {
                return null;
            }

            using var sealing = DeriveKey(group);
            return Aead.Decrypt(sealing, nonce, Info(group), ciphertext) is { Length: GroupKey.Size } material
                ? GroupKey.FromMaterial(material)
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private Key DeriveKey(string group) =>
        KeyDerivationAlgorithm.HkdfSha256.DeriveKey(Secret, [], Info(group), Aead);

    private byte[] Info(string group) => Encoding.UTF8.GetBytes($"mesh-invite/1|{group}|{Id}");

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
