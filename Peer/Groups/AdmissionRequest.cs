using System.Buffers;
using System.Text;
using System.Text.Json;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>An invitee's request to be added to a private group, written when it redeems an invite (in the same
/// transaction that deletes the invite record, so one invite serves once). It carries the invite record, is signed with
/// the invite's key (proof of the code) and with the invitee's own key (proof of its peer id). A member that finds it
/// valid commits the invitee's addition to the group log.</summary>
public sealed record AdmissionRequest(InviteRecord Invite, string PeerId, byte[] PeerSigningKey, string CurveKey, string Name, long AtMs)
{
    /// <summary>The invitee's <see cref="JoinConsent"/> to the group the invite's code pinned (null from older peers).</summary>
    public byte[]? Consent { get; init; }

    public const int MaxBytes = 6 * 1024;

    private static ReadOnlySpan<byte> Domain => "mesh-admit/2\0"u8;

    public static byte[] Create(string group, Invite invite, byte[] inviteRecord, PeerIdentity peer, string name, long nowMs)
    {
        var buffer = new ArrayBufferWriter<byte>(384);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 2);
            w.WriteString("g", group);
            w.WriteString("id", invite.Id);
            w.WriteString("peer", peer.PeerId);
            w.WriteBase64String("sk", peer.SigningPublicKey);
            w.WriteString("curve", peer.PublicKeyZ85);
            w.WriteString("name", name);
            w.WriteNumber("t", nowMs);
            w.WriteEndObject();
        }

        var body = buffer.WrittenSpan.ToArray();
        byte[] signed = [.. Domain, .. body];
        return SignedRecord.Write(body, invite.Sign(signed),
            ("ps", Convert.ToBase64String(peer.Sign(signed))), ("inv", Encoding.UTF8.GetString(inviteRecord)),
            ("join", Convert.ToBase64String(JoinConsent.Sign(peer, group, invite.GenesisHash, name))));
    }

    /// <summary>Parses a request and checks everything it can alone: the invite record's signature, the invite key's
    /// and the peer's signatures, and that they name the same group and invite. Whether the inviter is a member and the
    /// invite unused and unexpired is for the caller, against the group log and its clock.</summary>
    public static AdmissionRequest? TryParse(ReadOnlySpan<byte> record, string group)
    {
        if (!SignedRecord.TryRead(record, MaxBytes, out var body, out var signature, out var extra)
            || !extra.TryGetValue("ps", out var ps) || !extra.TryGetValue("inv", out var inv)
            || InviteRecord.TryParse(Encoding.UTF8.GetBytes(inv)) is not { } invite || invite.Group != group)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 1 });
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || r.GetProperty("v").GetInt32() != 2 || r.GetProperty("g").GetString() != group
                || r.GetProperty("id").GetString() != invite.Id
                || r.GetProperty("peer").GetString() is not { Length: PeerIdentity.PeerIdLength } peer
                || !r.GetProperty("sk").TryGetBytesFromBase64(out var sk) || sk is not { Length: 32 }
                || r.GetProperty("curve").GetString() is not { Length: 40 } curve
                || r.GetProperty("name").GetString() is not { } name || !Naming.IsValidName(name)
                || !r.GetProperty("t").TryGetInt64(out var at))
            {
                return null;
            }

            byte[] signed = [.. Domain, .. body];
            return PeerIdentity.DerivePeerId(sk) == peer && PeerIdentity.Verify(invite.InvitePublicKey, signed, signature)
                && PeerIdentity.Verify(sk, signed, Convert.FromBase64String(ps))
                ? new AdmissionRequest(invite, peer, sk, curve, name, at)
                {
                    Consent = extra.TryGetValue("join", out var join) ? Convert.FromBase64String(join) : null,
                }
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return null;
        }
    }
}
