using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;

namespace Mesh.Peer.Protocol;

/// <summary>Seals envelopes for a group and opens them again; parses untrusted bytes without ever throwing.</summary>
/// <remarks>
/// Wire and history format (version 2), one JSON object:
/// <c>{"v":2,"g":group,"p":peer,"e":epoch,"s":seq,"t":sentAt,"k":signingKey,"n":nonce,"c":ciphertext,"sig":signature}</c>.
/// The header (group, peer, epoch, seq, time) is in clear: it is also the history key, and receivers order by it.
/// The sender's name and the text are in <c>c</c>, sealed with the group key (XChaCha20-Poly1305) with the header
/// as associated data, so a ciphertext cannot be moved under another header. <c>sig</c> is the sender's Ed25519
/// signature over the header, nonce and ciphertext; the peer id is the hash of <c>k</c>, so the signature proves
/// the sender without asking anyone.
/// </remarks>
public static class EnvelopeCodec
{
    public const int Version = 2;

    /// <summary>No valid envelope is larger: the text limit, JSON escaping, base64, and room for the header.</summary>
    public const int MaxEncodedBytes = Naming.MaxTextBytes * 8 + 2048;

    public static byte[] Seal(Envelope e, GroupKey key, PeerIdentity sender)
    {
        var header = Header(e.Group, e.PeerId, e.Epoch, e.Seq, e.SentAtMs);
        var nonce = RandomNumberGenerator.GetBytes(GroupKey.NonceSize);
        var ciphertext = key.Seal(nonce, header, Inner(e.From, e.Text));
        var signature = sender.Sign(Signed(header, nonce, ciphertext));

        var buffer = new ArrayBufferWriter<byte>(256 + ciphertext.Length * 2);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", Version);
            w.WriteString("g", e.Group);
            w.WriteString("p", e.PeerId);
            w.WriteNumber("e", e.Epoch);
            w.WriteNumber("s", e.Seq);
            w.WriteNumber("t", e.SentAtMs);
            w.WriteBase64String("k", sender.SigningPublicKey);
            w.WriteBase64String("n", nonce);
            w.WriteBase64String("c", ciphertext);
            w.WriteBase64String("sig", signature);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Checks, authenticates and decrypts an envelope; null (with the reason) for anything not acceptable.</summary>
    /// <param name="bytes">Untrusted input.</param>
    /// <param name="keyOf">The key of a group, or null when this peer holds none.</param>
    /// <param name="signingKey">The sender's signing public key, when accepted.</param>
    /// <param name="reason">Why it was rejected.</param>
    public static Envelope? TryOpen(ReadOnlySpan<byte> bytes, Func<string, GroupKey?> keyOf, out byte[]? signingKey, out RejectReason reason)
    {
        signingKey = null;
        var outer = TryParse(bytes);
        if (outer is null)
        {
            reason = RejectReason.Malformed;
            return null;
        }

        return TryOpen(outer, keyOf(outer.Group), out signingKey, out reason);
    }

    /// <summary>Authenticates and decrypts a parsed envelope (the costly part: a signature check and an AEAD).</summary>
    public static Envelope? TryOpen(SealedEnvelope outer, GroupKey? key, out byte[]? signingKey, out RejectReason reason)
    {
        signingKey = null;

        var header = Header(outer.Group, outer.PeerId, outer.Epoch, outer.Seq, outer.SentAtMs);
        if (PeerIdentity.DerivePeerId(outer.SigningKey) != outer.PeerId
            || !PeerIdentity.Verify(outer.SigningKey, Signed(header, outer.Nonce, outer.Ciphertext), outer.Signature))
        {
            reason = RejectReason.BadSignature;
            return null;
        }

        var plaintext = key?.Open(outer.Nonce, header, outer.Ciphertext);
        if (plaintext is null)
        {
            reason = RejectReason.NotSealedForGroup;
            return null;
        }

        if (!TryParseInner(plaintext, out var from, out var text))
        {
            reason = RejectReason.Malformed;
            return null;
        }

        signingKey = outer.SigningKey;
        reason = RejectReason.None;
        return new Envelope(outer.Group, outer.PeerId, outer.Epoch, outer.Seq, from, outer.SentAtMs, text);
    }

    private static byte[] Header(string group, string peer, long epoch, long seq, long sentAt) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"mesh/{Version}\n{group}\n{peer}\n{epoch}\n{seq}\n{sentAt}"));

    private static byte[] Signed(byte[] header, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext)
    {
        var signed = new byte[header.Length + 1 + nonce.Length + ciphertext.Length];
        header.CopyTo(signed, 0);
        signed[header.Length] = 0;
        nonce.CopyTo(signed.AsSpan(header.Length + 1));
        ciphertext.CopyTo(signed.AsSpan(header.Length + 1 + nonce.Length));
        return signed;
    }

    private static byte[] Inner(string from, string text)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + text.Length * 2);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("f", from);
            w.WriteString("x", text);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool TryParseInner(ReadOnlySpan<byte> plaintext, out string from, out string text)
    {
        from = text = "";
        try
        {
            var reader = new Utf8JsonReader(plaintext, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? f = null, x = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }

                if (name == "f" && reader.TokenType == JsonTokenType.String)
                {
                    f = reader.GetString();
                }
                else if (name == "x" && reader.TokenType == JsonTokenType.String)
                {
                    x = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            if (!Naming.IsValidName(f) || x is null || Encoding.UTF8.GetByteCount(x) > Naming.MaxTextBytes)
            {
                return false;
            }

            from = f!;
            text = x;
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Parses the clear parts of an envelope (cheap: no cryptography); null when malformed.</summary>
    public static SealedEnvelope? TryParse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0 || bytes.Length > MaxEncodedBytes)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            string? group = null, peer = null;
            byte[]? key = null, nonce = null, ciphertext = null, signature = null;
            long epoch = -1, seq = -1, sentAt = -1, version = -1;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    return null;
                }

                var name = reader.GetString();
                if (!reader.Read())
                {
                    return null;
                }

                var isNumber = reader.TokenType == JsonTokenType.Number;
                var isString = reader.TokenType == JsonTokenType.String;
                switch (name)
                {
                    case "v" when isNumber && reader.TryGetInt64(out var v): version = v; break;
                    case "g" when isString: group = reader.GetString(); break;
                    case "p" when isString: peer = reader.GetString(); break;
                    case "e" when isNumber && reader.TryGetInt64(out var ep): epoch = ep; break;
                    case "s" when isNumber && reader.TryGetInt64(out var s): seq = s; break;
                    case "t" when isNumber && reader.TryGetInt64(out var t): sentAt = t; break;
                    case "k" when isString && reader.TryGetBytesFromBase64(out var k): key = k; break;
                    case "n" when isString && reader.TryGetBytesFromBase64(out var n): nonce = n; break;
                    case "c" when isString && reader.TryGetBytesFromBase64(out var c): ciphertext = c; break;
                    case "sig" when isString && reader.TryGetBytesFromBase64(out var sig): signature = sig; break;
                    default:
                        // Unknown fields are allowed (newer senders); skip their values.
                        reader.Skip();
                        break;
                }
            }

            if (version != Version || !Naming.IsValidGroup(group) || peer is not { Length: PeerIdentity.PeerIdLength }
                || epoch <= 0 || seq <= 0 || sentAt < 0 || key is not { Length: 32 } || nonce is not { Length: GroupKey.NonceSize }
                || ciphertext is null || signature is not { Length: 64 })
            {
                return null;
            }

            return new SealedEnvelope(group!, peer, epoch, seq, sentAt, key, nonce, ciphertext, signature);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
