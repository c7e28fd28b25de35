using System.Security.Cryptography;
using System.Text;
using Mesh.Peer.Configuration;
using NSec.Cryptography;

namespace Mesh.Peer.Groups;

/// <summary>An invite code: a secret that travels out of band, and the hash of the group's genesis, which the invitee
/// pins. The secret derives the invite's id (where its record lives) and a signing key: whoever holds the code can
/// sign an admission request that the invite record's public key checks. Nothing in etcd holds a group key.</summary>
/// <remarks>Codes made now also carry the group's name (<c>mesh3.</c>), so that <c>/accept CODE</c> knows which group
/// to join; the name is only a pointer: the genesis hash still decides which group's log the invitee trusts. Codes of
/// the older form (<c>mesh2.</c>, no name) are still taken where the group is named beside them.</remarks>
public sealed class Invite : IDisposable
{
    /// <summary>The older form: secret and genesis hash.</summary>
    private const string UnnamedPrefix = "mesh2.";

    /// <summary>The form made now: secret, genesis hash and the group's name.</summary>
    private const string NamedPrefix = "mesh3.";

    private const int SecretBytes = 32;
    private const int HashBytes = 32;

    /// <summary>The longest text taken as a code (a named code of the longest group name is 178 characters): anything
    /// longer is refused before it is decoded.</summary>
    public const int MaxCodeLength = 200;

    private Invite(byte[] secret, byte[] genesis, string? group)
    {
        Secret = secret;
        GenesisHash = Convert.ToHexStringLower(genesis);
        Group = group;
        Id = Convert.ToHexStringLower(SHA256.HashData([.. "mesh-invite-id/2|"u8, .. secret]))[..32];
        var seed = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(secret, [], "mesh-invite-key/2"u8, 32);
        SigningKey = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        PublicKey = SigningKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] Secret { get; }

    /// <summary>The genesis hash (hex) of the group the invite is for: the invitee trusts that log and no other.</summary>
    public string GenesisHash { get; }

    /// <summary>The group the code names; null for a code of the older form, which does not.</summary>
    public string? Group { get; }

    public string Id { get; }

    /// <summary>Signs admission requests; its public half is in the invite record.</summary>
    public Key SigningKey { get; }

    public byte[] PublicKey { get; }

    /// <summary>What the invitee is given: <c>mesh3.</c> and base64url of the secret, the genesis hash, the length of
    /// the group's name and the name (<c>mesh2.</c> and 86 characters for an invite without a group name).</summary>
    public string Code => Group is null
        ? UnnamedPrefix + Base64Url([.. Secret, .. Convert.FromHexString(GenesisHash)])
        : NamedPrefix + Base64Url([.. Secret, .. Convert.FromHexString(GenesisHash), (byte)Group.Length, .. Encoding.ASCII.GetBytes(Group)]);

    /// <summary>A new invite to the group whose genesis hash is <paramref name="genesisHash"/>; its code names
    /// <paramref name="group"/> (when given).</summary>
    public static Invite Create(string genesisHash, string? group = null)
    {
        if (group is not null && !Naming.IsValidGroup(group))
        {
            throw new ArgumentException($"invalid group name '{Naming.Printable(group)}'", nameof(group));
        }

        return new(RandomNumberGenerator.GetBytes(SecretBytes), Convert.FromHexString(genesisHash), group);
    }

    /// <summary>Whether <paramref name="text"/> is, on its own, shaped like an invite code (a prefix and one word): such
    /// a line is never a chat message, since sending it would hand the invite to the group.</summary>
    public static bool LooksLikeCode(string text)
    {
        var t = text.Trim();
        return (t.StartsWith(NamedPrefix, StringComparison.Ordinal) || t.StartsWith(UnnamedPrefix, StringComparison.Ordinal))
            && !t.Any(char.IsWhiteSpace);
    }

    /// <summary>Parses a code of either form; one clear error (exit code 2) for anything else, whatever its length.
    /// <paramref name="source"/> names where it came from.</summary>
    public static Invite Parse(string code, string source)
    {
        code = code.Trim();
        var bad = new MeshException($"{source}: not an invite code (it looks like {NamedPrefix} followed by 88 to 172 characters, as 'mesh invite G' and /invite print it)", 2);
        if (code.Length > MaxCodeLength)
        {
            throw bad;
        }

        var named = code.StartsWith(NamedPrefix, StringComparison.Ordinal);
        // Both prefixes are six characters long.
        if ((!named && !code.StartsWith(UnnamedPrefix, StringComparison.Ordinal)) || Decode(code[NamedPrefix.Length..]) is not { } bytes)
        {
            throw bad;
        }

        const int fixedBytes = SecretBytes + HashBytes;
        if (!named)
        {
            return bytes.Length == fixedBytes ? new Invite(bytes[..SecretBytes], bytes[SecretBytes..], null) : throw bad;
        }

        // The name's length comes first: a code cut short (a bad copy) is refused, not read as a shorter name.
        if (bytes.Length <= fixedBytes + 1 || bytes[fixedBytes] != bytes.Length - fixedBytes - 1)
        {
            throw bad;
        }

        // Only ASCII names are valid: anything else fails the rule below rather than decoding into something that passes.
        var name = bytes[(fixedBytes + 1)..];
        var group = name.All(b => b < 0x80) ? Encoding.ASCII.GetString(name) : null;
        return Naming.IsValidGroup(group)
            ? new Invite(bytes[..SecretBytes], bytes[SecretBytes..fixedBytes], group)
            : throw new MeshException($"{source}: the invite code names no valid group", 2);
    }

    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(SigningKey, data);

    public void Dispose() => SigningKey.Dispose();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? Decode(string text)
    {
        if (text.Length == 0 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return null;
        }

        try
        {
            var b64 = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '='));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
