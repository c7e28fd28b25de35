using System.Buffers;
using System.Text;
using System.Text.Json;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Crypto;

/// <summary>One epoch's group key, wrapped to one member's Curve key and signed by the member who hands it over.</summary>
/// <remarks>
/// Stored as <c>{"b":BODY,"s":SIGNATURE}</c> like log entries. The wrap (see <see cref="KeyWrap"/>) only opens with the
/// recipient's secret key; the signature says which member granted it; the key inside is the group's only if its check
/// matches the one the group log committed for that epoch. The recipient checks all three.
/// </remarks>
public sealed record KeyGrant(string Group, long Epoch, string To, string By, byte[] SigningKey, byte[] Wrap)
{
    public const int MaxBytes = 4096;

    private static ReadOnlySpan<byte> Domain => "mesh-grant/1\0"u8;

    public static byte[] Create(GroupKey key, string group, long epoch, string toPeerId, byte[] toCurveKey, PeerIdentity by)
    {
        var wrap = KeyWrap.Wrap(key, WrapLabel(group, epoch), toPeerId, toCurveKey);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 1);
            w.WriteString("g", group);
            w.WriteNumber("e", epoch);
            w.WriteString("to", toPeerId);
            w.WriteString("by", by.PeerId);
            w.WriteBase64String("k", by.SigningPublicKey);
            w.WriteBase64String("w", wrap);
            w.WriteEndObject();
        }

        var body = buffer.WrittenSpan.ToArray();
        var signature = by.Sign([.. Domain, .. body]);
        return SignedRecord.Write(body, signature);
    }

    /// <summary>Parses a grant and checks its signature against the key it names; null for anything else.</summary>
    public static KeyGrant? TryParse(ReadOnlySpan<byte> record)
    {
        if (!SignedRecord.TryRead(record, MaxBytes, out var body, out var signature, out _))
        {
            return null;
        }

        try
        {
            using var inner = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 1 });
            var r = inner.RootElement;
            if (r.ValueKind != JsonValueKind.Object || !r.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != 1
                || r.GetProperty("g").GetString() is not { } group || !r.GetProperty("e").TryGetInt64(out var epoch) || epoch < 1
                || r.GetProperty("to").GetString() is not { Length: PeerIdentity.PeerIdLength } to
                || r.GetProperty("by").GetString() is not { Length: PeerIdentity.PeerIdLength } by
                || !r.GetProperty("k").TryGetBytesFromBase64(out var key) || key is not { Length: 32 }
                || !r.GetProperty("w").TryGetBytesFromBase64(out var wrap) || wrap is null)
            {
                return null;
            }

            if (PeerIdentity.DerivePeerId(key) != by || !PeerIdentity.Verify(key, [.. Domain, .. body], signature))
            {
                return null;
            }

            return new KeyGrant(group, epoch, to, by, key, wrap);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Opens the wrapped key with this peer's Curve secret key; null when it is not meant for it.</summary>
    public GroupKey? TryOpen(string ownPeerId, byte[] ownCurveSecretKey, byte[] ownCurvePublicKey) =>
        To != ownPeerId ? null : KeyWrap.TryUnwrap(Wrap, WrapLabel(Group, Epoch), ownPeerId, ownCurveSecretKey, ownCurvePublicKey);

    /// <summary>The wrap is bound to the group and the epoch, so it cannot be moved to another epoch's slot.</summary>
    private static string WrapLabel(string group, long epoch) => $"{group}#{epoch}";
}
