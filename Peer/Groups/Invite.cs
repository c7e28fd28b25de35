using System.Security.Cryptography;
using Mesh.Peer.Configuration;
using NSec.Cryptography;

namespace Mesh.Peer.Groups;

/// <summary>An invite code: a secret that travels out of band, and the hash of the group's genesis, which the invitee
/// pins. The secret derives the invite's id (where its record lives) and a signing key: whoever holds the code can
/// sign an admission request that the invite record's public key checks. Nothing in etcd holds a group key.</summary>
public sealed class Invite : IDisposable
{
    private const string Prefix = "mesh2.";

    private Invite(byte[] secret, byte[] genesis)
    {
        Secret = secret;
        GenesisHash = Convert.ToHexStringLower(genesis);
        Id = Convert.ToHexStringLower(SHA256.HashData([.. "mesh-invite-id/2|"u8, .. secret]))[..32];
        var seed = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(secret, [], "mesh-invite-key/2"u8, 32);
        SigningKey = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        PublicKey = SigningKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] Secret { get; }

    /// <summary>The genesis hash (hex) of the group the invite is for: the invitee trusts that log and no other.</summary>
    public string GenesisHash { get; }

    public string Id { get; }

    /// <summary>Signs admission requests; its public half is in the invite record.</summary>
    public Key SigningKey { get; }

    public byte[] PublicKey { get; }

    /// <summary>What the invitee is given: <c>mesh2.</c> and 86 base64url characters.</summary>
    public string Code => Prefix + Base64Url([.. Secret, .. Convert.FromHexString(GenesisHash)]);

    public static Invite Create(string genesisHash) => new(RandomNumberGenerator.GetBytes(32), Convert.FromHexString(genesisHash));

    /// <summary>Parses a code; one clear error (exit code 2) for anything else. <paramref name="source"/> names where it came from.</summary>
    public static Invite Parse(string code, string source)
    {
        code = code.Trim();
        byte[]? bytes = null;
        if (code.StartsWith(Prefix, StringComparison.Ordinal))
        {
            try
            {
                var b64 = code[Prefix.Length..].Replace('-', '+').Replace('_', '/');
                bytes = Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '='));
            }
            catch (FormatException)
            {
            }
        }

        if (bytes is not { Length: 64 })
        {
            throw new MeshException($"{source}: not an invite code (it looks like {Prefix} followed by 86 characters)", 2);
        }

        return new Invite(bytes[..32], bytes[32..]);
    }

    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(SigningKey, data);

    public void Dispose() => SigningKey.Dispose();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
