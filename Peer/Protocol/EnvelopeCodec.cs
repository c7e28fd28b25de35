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
/// Wire and history format (version 5), one JSON object:
/// <c>{"v":5,"g":group,"p":peer,"e":epoch,"s":seq,"t":sentAt,"o":order,"q":keyEpoch,"h":logHead,"k":signingKey,"n":nonce,"c":ciphertext,"i":index,"w":width,"m":path,"sig":signature}</c>.
/// The header (group, peer, epoch, seq, time, order stamp, key epoch, log head) is in clear and authenticated: the
/// order stamp and the sender's run and position make the history key, and receivers order by them.
/// The sender's name and the text are in <c>c</c>, sealed with the group key (XChaCha20-Poly1305) with the header
/// as associated data, so a ciphertext cannot be moved under another header.
/// <para>A sender signs a burst of messages at once: <c>sig</c> is its Ed25519 signature over the root of a
/// <see cref="BurstTree"/> whose leaves are the messages' header, nonce and ciphertext; <c>i</c>, <c>w</c> and
/// <c>m</c> (the message's place in the burst and its path to the root) let every message be checked alone. A lone
/// message is a burst of one. The peer id is the hash of <c>k</c>, so the signature proves the sender without asking
/// anyone. A receiver that has checked a burst's root once accepts the burst's other messages by their paths.</para>
/// <para>Version 4 (no order stamp: the send time orders) is still read, for history written before stamps; version 2
/// (one signature per message, no <c>i</c>, <c>w</c>, <c>m</c>) is still parsed, for older history.</para>
/// </remarks>
public static class EnvelopeCodec
{
    public const int Version = 5;

    /// <summary>Version 4: key epochs, before order stamps (still read: history written before them).</summary>
    public const int KeyEpochVersion = 4;

    /// <summary>Version 3: bursts, before key epochs (read only, for tests of older frames).</summary>
    public const int BurstVersion = 3;

    /// <summary>The oldest version still read (history written before bursts were signed together).</summary>
    public const int OldestVersion = 2;

    /// <summary>No valid envelope is larger: the text limit, JSON escaping, base64, the longest path, and room for the header.</summary>
    public const int MaxEncodedBytes = Naming.MaxTextBytes * 8 + 2048 + BurstTree.HashSize * BurstTree.MaxDepth * 2;

    private static ReadOnlySpan<byte> BurstDomain => "mesh/3/burst\0"u8;

    /// <summary>Seals one message (a burst of one).</summary>
    public static byte[] Seal(Envelope e, GroupKey key, PeerIdentity sender, long keyEpoch = 1, long logHead = 0) =>
        SealBurst([e], key, sender, keyEpoch, logHead)[0];

    /// <summary>Seals a burst of one sender's messages to one group under a single signature; one payload per message.</summary>
    /// <param name="burst">The messages.</param>
    /// <param name="key">The key of the group's epoch <paramref name="keyEpoch"/>.</param>
    /// <param name="sender">Who signs.</param>
    /// <param name="keyEpoch">The key epoch sealed under (the group log's count of key changes, from 1).</param>
    /// <param name="logHead">The last group-log index the sender had applied: a receiver rejects a message that claims
    /// to have seen the epoch's successor.</param>
    public static byte[][] SealBurst(IReadOnlyList<Envelope> burst, GroupKey key, PeerIdentity sender, long keyEpoch = 1, long logHead = 0)
    {
        var nonces = new byte[burst.Count][];
        var ciphertexts = new byte[burst.Count][];
        var leaves = new byte[burst.Count][];
        for (var i = 0; i < burst.Count; i++)
        {
            var e = burst[i];
            var header = Header(Version, e.Group, e.PeerId, e.Epoch, e.Seq, e.SentAtMs, keyEpoch, logHead, e.Order);
            nonces[i] = RandomNumberGenerator.GetBytes(GroupKey.NonceSize);
            ciphertexts[i] = key.Seal(nonces[i], header, Inner(e.From, e.Text));
            leaves[i] = BurstTree.Leaf(Signed(header, nonces[i], ciphertexts[i]));
        }

        var (root, paths) = BurstTree.Build(leaves);
        var signature = sender.Sign(SignedRoot(BurstTree.Seal(root, burst.Count)));
        var payloads = new byte[burst.Count][];
        for (var i = 0; i < burst.Count; i++)
        {
            var e = burst[i];
            var buffer = new ArrayBufferWriter<byte>(320 + ciphertexts[i].Length * 2 + paths[i].Length * 2);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteNumber("v", Version);
                w.WriteString("g", e.Group);
                w.WriteString("p", e.PeerId);
                w.WriteNumber("e", e.Epoch);
                w.WriteNumber("s", e.Seq);
                w.WriteNumber("t", e.SentAtMs);
                w.WriteNumber("o", e.Order);
                w.WriteNumber("q", keyEpoch);
                w.WriteNumber("h", logHead);
                w.WriteBase64String("k", sender.SigningPublicKey);
                w.WriteBase64String("n", nonces[i]);
                w.WriteBase64String("c", ciphertexts[i]);
                w.WriteNumber("i", i);
                w.WriteNumber("w", burst.Count);
                w.WriteBase64String("m", paths[i]);
                w.WriteBase64String("sig", signature);
                w.WriteEndObject();
            }

            payloads[i] = buffer.WrittenSpan.ToArray();
        }

        return payloads;
    }

    /// <summary>Checks, authenticates and decrypts an envelope; null (with the reason) for anything not acceptable.</summary>
    /// <param name="bytes">Untrusted input.</param>
    /// <param name="keyOf">The key of a group, or null when this peer holds none.</param>
    /// <param name="signingKey">The sender's signing public key, when accepted.</param>
    /// <param name="reason">Why it was rejected.</param>
    /// <param name="verified">Burst roots already checked (see <see cref="VerifiedBursts"/>).</param>
    public static Envelope? TryOpen(ReadOnlySpan<byte> bytes, Func<string, GroupKey?> keyOf, out byte[]? signingKey, out RejectReason reason, VerifiedBursts? verified = null)
    {
        signingKey = null;
        var outer = TryParse(bytes);
        if (outer is null)
        {
            reason = RejectReason.Malformed;
            return null;
        }

        return TryOpen(outer, keyOf(outer.Group), out signingKey, out reason, verified);
    }

    /// <summary>Authenticates and decrypts a parsed envelope (the costly part: a signature check and an AEAD).</summary>
    /// <param name="outer">The parsed envelope.</param>
    /// <param name="key">The group's key, or null when this peer holds none.</param>
    /// <param name="signingKey">The sender's signing public key, when accepted.</param>
    /// <param name="reason">Why it was rejected.</param>
    /// <param name="verified">Burst roots already checked: a message of such a burst needs no signature check.</param>
    /// <param name="linkAuthenticated">It arrived on the Curve link of the member it names, whose handshake proved the
    /// member's pinned key: the signature is not checked here (it is wherever the bytes are read again: history, the
    /// local copy), only that the signing key is the peer id's.</param>
    public static Envelope? TryOpen(SealedEnvelope outer, GroupKey? key, out byte[]? signingKey, out RejectReason reason, VerifiedBursts? verified = null,
        bool linkAuthenticated = false)
    {
        signingKey = null;

        var header = Header(outer.Version, outer.Group, outer.PeerId, outer.Epoch, outer.Seq, outer.SentAtMs, outer.KeyEpoch, outer.LogHead, outer.OrderMs);
        if (!(verified?.IsKeyOf(outer.PeerId, outer.SigningKey) ?? PeerIdentity.DerivePeerId(outer.SigningKey) == outer.PeerId)
            || (!linkAuthenticated && !Authentic(outer, header, verified)))
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
        return new Envelope(outer.Group, outer.PeerId, outer.Epoch, outer.Seq, from, outer.SentAtMs, text, outer.OrderMs);
    }

    private static bool Authentic(SealedEnvelope outer, byte[] header, VerifiedBursts? verified)
    {
        var signed = Signed(header, outer.Nonce, outer.Ciphertext);
        if (outer.Version == 2)
        {
            return PeerIdentity.Verify(outer.SigningKey, signed.AsSpan(1), outer.Signature);
        }

        if (BurstTree.RootOf(BurstTree.Leaf(signed), outer.Index, outer.Width, outer.Path) is not { } treeRoot)
        {
            return false;
        }

        var root = BurstTree.Seal(treeRoot, outer.Width);
        if (verified?.Contains(outer.PeerId, root) == true)
        {
            return true;
        }

        if (!PeerIdentity.Verify(outer.SigningKey, SignedRoot(root), outer.Signature))
        {
            return false;
        }

        verified?.Add(outer.PeerId, root);
        return true;
    }

    private static byte[] SignedRoot(byte[] root)
    {
        var signed = new byte[BurstDomain.Length + root.Length];
        BurstDomain.CopyTo(signed);
        root.CopyTo(signed, BurstDomain.Length);
        return signed;
    }

    private static byte[] Header(int version, string group, string peer, long epoch, long seq, long sentAt, long keyEpoch, long logHead, long order) =>
        Encoding.UTF8.GetBytes(version switch
        {
            >= Version => string.Create(CultureInfo.InvariantCulture, $"mesh/{version}\n{group}\n{peer}\n{epoch}\n{seq}\n{sentAt}\n{keyEpoch}\n{logHead}\n{order}"),
            KeyEpochVersion => string.Create(CultureInfo.InvariantCulture, $"mesh/{version}\n{group}\n{peer}\n{epoch}\n{seq}\n{sentAt}\n{keyEpoch}\n{logHead}"),
            _ => string.Create(CultureInfo.InvariantCulture, $"mesh/{version}\n{group}\n{peer}\n{epoch}\n{seq}\n{sentAt}"),
        });

    /// <summary>What is signed for a message: header, 0, nonce, ciphertext; after one byte 0x00, so that the same
    /// buffer hashes to its <see cref="BurstTree.Leaf"/> (version 2 signs it from the second byte).</summary>
    private static byte[] Signed(byte[] header, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext)
    {
        var signed = new byte[1 + header.Length + 1 + nonce.Length + ciphertext.Length];
        header.CopyTo(signed, 1);
        nonce.CopyTo(signed.AsSpan(1 + header.Length + 1));
        ciphertext.CopyTo(signed.AsSpan(1 + header.Length + 1 + nonce.Length));
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
            byte[]? key = null, nonce = null, ciphertext = null, signature = null, path = null;
            long epoch = -1, seq = -1, sentAt = -1, version = -1, index = -1, width = -1, keyEpoch = -1, logHead = -1, order = -1;
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
                    case "o" when isNumber && reader.TryGetInt64(out var o): order = o; break;
                    case "q" when isNumber && reader.TryGetInt64(out var q): keyEpoch = q; break;
                    case "h" when isNumber && reader.TryGetInt64(out var h): logHead = h; break;
                    case "k" when isString && reader.TryGetBytesFromBase64(out var k): key = k; break;
                    case "n" when isString && reader.TryGetBytesFromBase64(out var n): nonce = n; break;
                    case "c" when isString && reader.TryGetBytesFromBase64(out var c): ciphertext = c; break;
                    case "i" when isNumber && reader.TryGetInt64(out var i): index = i; break;
                    case "w" when isNumber && reader.TryGetInt64(out var wd): width = wd; break;
                    case "m" when isString && reader.TryGetBytesFromBase64(out var m): path = m; break;
                    case "sig" when isString && reader.TryGetBytesFromBase64(out var sig): signature = sig; break;
                    default:
                        // Unknown fields are allowed (newer senders); skip their values.
                        reader.Skip();
                        break;
                }
            }

            var epochs = version is Version or KeyEpochVersion ? keyEpoch >= 1 && logHead >= 0 : keyEpoch < 0 && logHead < 0;
            // An order stamp is in version 5 only, and never below the send time it comes with.
            var stamped = version == Version ? order >= sentAt && order <= 9_999_999_999_999 : order < 0;
            var burst = version is Version or KeyEpochVersion or BurstVersion && epochs && stamped && width is >= 1 and <= BurstTree.MaxWidth && index >= 0 && index < width
                && path is { Length: <= BurstTree.HashSize * BurstTree.MaxDepth } && path.Length % BurstTree.HashSize == 0;
            var single = version == OldestVersion && keyEpoch < 0 && logHead < 0 && width < 0 && index < 0 && path is null;
            if (!(burst || single) || !Naming.IsValidGroup(group) || peer is not { Length: PeerIdentity.PeerIdLength }
                || epoch <= 0 || seq <= 0 || sentAt < 0 || key is not { Length: 32 } || nonce is not { Length: GroupKey.NonceSize }
                || ciphertext is null || signature is not { Length: 64 })
            {
                return null;
            }

            return new SealedEnvelope(group!, peer, epoch, seq, sentAt, key, nonce, ciphertext, signature)
            {
                Version = (int)version,
                Index = (int)index,
                Width = (int)width,
                Path = path ?? [],
                KeyEpoch = Math.Max(0, keyEpoch),
                LogHead = Math.Max(0, logHead),
                OrderMs = Math.Max(0, order),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
