using System.Buffers;
using System.Text.Json;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Groups;

/// <summary>A member's request for epoch keys it should hold and lacks (a grant that never came, was deleted from etcd,
/// or held another key): signed by the member, so that only a member the log holds is ever granted anything, and only
/// epochs it was a member for.</summary>
public sealed record KeyRequest(string Group, string PeerId, byte[] SigningKey, IReadOnlyList<long> Epochs, long AtMs)
{
    public const int MaxBytes = 4 * 1024;

    /// <summary>The most epochs one request names.</summary>
    public const int MaxEpochs = 64;

    private static ReadOnlySpan<byte> Domain => "mesh-keyreq/1\0"u8;

    public static byte[] Create(string group, PeerIdentity peer, IReadOnlyList<long> epochs, long nowMs)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("g", group);
            w.WriteString("peer", peer.PeerId);
            w.WriteBase64String("k", peer.SigningPublicKey);
            w.WriteString("epochs", string.Join(',', epochs.Take(MaxEpochs)));
            w.WriteNumber("t", nowMs);
            w.WriteEndObject();
        }

        var body = buffer.WrittenSpan.ToArray();
        return SignedRecord.Write(body, peer.Sign([.. Domain, .. body]));
    }

    /// <summary>A request for <paramref name="group"/> signed by the key it names (whether that key is a member's is for
    /// the caller to check against the log); null for anything else.</summary>
    public static KeyRequest? TryParse(ReadOnlySpan<byte> record, string group)
    {
        if (!SignedRecord.TryRead(record, MaxBytes, out var body, out var signature, out _))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 1 });
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || r.GetProperty("g").GetString() != group
                || r.GetProperty("peer").GetString() is not { Length: PeerIdentity.PeerIdLength } peer
                || !r.GetProperty("k").TryGetBytesFromBase64(out var key) || key is not { Length: 32 }
                || r.GetProperty("epochs").GetString() is not { } list || !r.GetProperty("t").TryGetInt64(out var at))
            {
                return null;
            }

            var epochs = new List<long>();
            foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (epochs.Count >= MaxEpochs || !long.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch) || epoch < 1)
                {
                    return null;
                }

                epochs.Add(epoch);
            }

            return PeerIdentity.DerivePeerId(key) == peer && PeerIdentity.Verify(key, [.. Domain, .. body], signature)
                ? new KeyRequest(group, peer, key, epochs, at)
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The epochs of the request that <paramref name="log"/> says its member should hold: every epoch up to the
    /// current one (a member is granted all earlier epochs when added). Empty when the asker is not a member with the
    /// key the log pinned.</summary>
    public IReadOnlyList<long> Due(GroupLog log) =>
        log.Members.TryGetValue(PeerId, out var member) && member.SigningKey.AsSpan().SequenceEqual(SigningKey)
            ? Epochs.Where(e => e >= 1 && e <= log.CurrentEpoch.Number).Distinct().ToList()
            : [];
}
