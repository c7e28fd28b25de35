using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Mesh.Peer.Crypto;

/// <summary>A group's content key: XChaCha20-Poly1305, shared by the members and by nobody else.</summary>
public sealed class GroupKey : IDisposable
{
    public const int Size = 32;
    public const int NonceSize = 24;

    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;
    private readonly Key _key;

    private GroupKey(byte[] material)
    {
        if (material.Length != Size)
        {
            throw new ArgumentException($"a group key is {Size} bytes", nameof(material));
        }

        Material = material;
        _key = Key.Import(Aead, material, KeyBlobFormat.RawSymmetricKey);
    }

    /// <summary>The raw key: written only to 0600 files and, wrapped, to members.</summary>
    internal byte[] Material { get; }

    public static GroupKey Create() => new(RandomNumberGenerator.GetBytes(Size));

    public static GroupKey FromMaterial(byte[] material) => new(material);

    /// <summary>Proves which key a group's epoch uses without revealing it: HMAC-SHA256 under the key itself. The group
    /// log commits to it, so a key offered to a member is the group's only if its check matches.</summary>
    public string Check(string group, long epoch) =>
        Convert.ToBase64String(HMACSHA256.HashData(Material, Encoding.UTF8.GetBytes($"mesh-key-check/2|{group}|{epoch}")));

    public byte[] Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associated, ReadOnlySpan<byte> plaintext) =>
        Aead.Encrypt(_key, nonce, associated, plaintext);

    /// <summary>Decrypts and authenticates; null when the ciphertext was not sealed with this key and data.</summary>
    public byte[]? Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associated, ReadOnlySpan<byte> ciphertext)
    {
        if (nonce.Length != NonceSize || ciphertext.Length < Aead.TagSize)
        {
            return null;
        }

        return Aead.Decrypt(_key, nonce, associated, ciphertext);
    }

    public void Dispose() => _key.Dispose();
}
