using System.Buffers;
using System.Text.Json;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>What <c>mesh invite</c> puts in etcd (under a lease of the invite's lifetime): signed by the inviting
/// member, it names the invite's public key and when it expires. It holds no group key.</summary>
public sealed record InviteRecord(string Group, string Id, string By, byte[] SigningKey, byte[] InvitePublicKey, long ExpiresAtMs)
{
    public const int MaxBytes = 2048;

    private static ReadOnlySpan<byte> Domain => "mesh-invite/2\0"u8;

    public static byte[] Create(string group, Invite invite, long expiresAtMs, PeerIdentity by)
    {
        var buffer = new ArrayBufferWriter<byte>(384);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 2);
            w.WriteString("g", group);
            w.WriteString("id", invite.Id);
            w.WriteString("by", by.PeerId);
            w.WriteBase64String("k", by.SigningPublicKey);
            w.WriteBase64String("pub", invite.PublicKey);
            w.WriteNumber("exp", expiresAtMs);
            w.WriteEndObject();
        }

        var body = buffer.WrittenSpan.ToArray();
        return SignedRecord.Write(body, by.Sign([.. Domain, .. body]));
    }

    /// <summary>Parses an invite record and checks that it is signed by the key it names; null otherwise.</summary>
    public static InviteRecord? TryParse(ReadOnlySpan<byte> record)
    {
        if (!SignedRecord.TryRead(record, MaxBytes, out var body, out var signature, out _))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 1 });
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || r.GetProperty("v").GetInt32() != 2
                || r.GetProperty("g").GetString() is not { } group || r.GetProperty("id").GetString() is not { Length: 32 } id
                || r.GetProperty("by").GetString() is not { Length: PeerIdentity.PeerIdLength } by
                || !r.GetProperty("k").TryGetBytesFromBase64(out var key) || key is not { Length: 32 }
                || !r.GetProperty("pub").TryGetBytesFromBase64(out var pub) || pub is not { Length: 32 }
                || !r.GetProperty("exp").TryGetInt64(out var exp))
            {
                return null;
            }

            return PeerIdentity.DerivePeerId(key) == by && PeerIdentity.Verify(key, [.. Domain, .. body], signature)
                ? new InviteRecord(group, id, by, key, pub, exp)
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return null;
        }
    }
}
