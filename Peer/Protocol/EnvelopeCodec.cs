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
/// Wire and history format (version 6), binary, little-endian varints (LEB128) for numbers:
/// <c>'M' 6 | group (u8 length, UTF-8) | epoch seq sentAt (order − sentAt) keyEpoch logHead | signing key (32) |
/// nonce (24) | ciphertext (varint length, bytes) | index width | path (u8 count of 32-byte hashes, hashes) |
/// signature (64)</c>, nothing after. The peer id is not written: it is the hash of the signing key. The sealed
/// plaintext is <c>name length (u8) | name | text</c> (UTF-8). About half the bytes of version 5 for a short message
/// (no JSON names, no base64, no escaping of non-ASCII text).
/// <para>Version 5, still read (history written before version 6), is one JSON object:
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
/// </para>
/// <para>Version 4 (no order stamp: the send time orders) is still read, for history written before stamps; version 2
/// (one signature per message, no <c>i</c>, <c>w</c>, <c>m</c>) is still parsed, for older history.</para>
/// </remarks>
public static class EnvelopeCodec
{
    public const int Version = 6;

    /// <summary>Version 5: JSON with order stamps (still read: history written before the binary form).</summary>
    public const int OrderVersion = 5;

    /// <summary>The first byte of a binary envelope (a JSON one starts with '{', a control frame with 0x01).</summary>
    public const byte BinaryMarker = (byte)'M';

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
    public static byte[][] SealBurst(IReadOnlyList<Envelope> burst, GroupKey key, PeerIdentity sender, long keyEpoch = 1, long logHead = 0) =>
        SealBurst(burst, key, sender, keyEpoch, logHead, Version);

    /// <summary>Seals in the JSON form of version 5, which senders wrote before version 6: what the tests of reading
    /// older history and of tampering with its fields seal.</summary>
    internal static byte[][] SealBurstJson(IReadOnlyList<Envelope> burst, GroupKey key, PeerIdentity sender, long keyEpoch = 1, long logHead = 0) =>
        SealBurst(burst, key, sender, keyEpoch, logHead, OrderVersion);

    internal static byte[] SealJson(Envelope e, GroupKey key, PeerIdentity sender, long keyEpoch = 1, long logHead = 0) =>
        SealBurstJson([e], key, sender, keyEpoch, logHead)[0];

    private static byte[][] SealBurst(IReadOnlyList<Envelope> burst, GroupKey key, PeerIdentity sender, long keyEpoch, long logHead, int version)
    {
        var nonces = new byte[burst.Count][];
        var ciphertexts = new byte[burst.Count][];
        var leaves = new byte[burst.Count][];
        for (var i = 0; i < burst.Count; i++)
        {
            var e = burst[i];
            var header = Header(version, e.Group, e.PeerId, e.Epoch, e.Seq, e.SentAtMs, keyEpoch, logHead, e.Order);
            nonces[i] = RandomNumberGenerator.GetBytes(GroupKey.NonceSize);
            ciphertexts[i] = key.Seal(nonces[i], header, version >= Version ? InnerBinary(e.From, e.Text) : Inner(e.From, e.Text));
            leaves[i] = BurstTree.Leaf(Signed(header, nonces[i], ciphertexts[i]));
        }

        var (root, paths) = BurstTree.Build(leaves);
        var signature = sender.Sign(SignedRoot(BurstTree.Seal(root, burst.Count)));
        var payloads = new byte[burst.Count][];
        for (var i = 0; i < burst.Count; i++)
        {
            payloads[i] = version >= Version
                ? WriteBinary(burst[i], keyEpoch, logHead, sender.SigningPublicKey, nonces[i], ciphertexts[i], i, burst.Count, paths[i], signature)
                : WriteJson(burst[i], keyEpoch, logHead, sender.SigningPublicKey, nonces[i], ciphertexts[i], i, burst.Count, paths[i], signature);
        }

        return payloads;
    }

    private static byte[] WriteJson(Envelope e, long keyEpoch, long logHead, byte[] signingKey, byte[] nonce, byte[] ciphertext,
        int index, int width, byte[] path, byte[] signature)
    {
        var buffer = new ArrayBufferWriter<byte>(320 + ciphertext.Length * 2 + path.Length * 2);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", OrderVersion);
            w.WriteString("g", e.Group);
            w.WriteString("p", e.PeerId);
            w.WriteNumber("e", e.Epoch);
            w.WriteNumber("s", e.Seq);
            w.WriteNumber("t", e.SentAtMs);
            w.WriteNumber("o", e.Order);
            w.WriteNumber("q", keyEpoch);
            w.WriteNumber("h", logHead);
            w.WriteBase64String("k", signingKey);
            w.WriteBase64String("n", nonce);
            w.WriteBase64String("c", ciphertext);
            w.WriteNumber("i", index);
            w.WriteNumber("w", width);
            w.WriteBase64String("m", path);
            w.WriteBase64String("sig", signature);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] WriteBinary(Envelope e, long keyEpoch, long logHead, byte[] signingKey, byte[] nonce, byte[] ciphertext,
        int index, int width, byte[] path, byte[] signature)
    {
        var group = Encoding.UTF8.GetBytes(e.Group);
        var buffer = new byte[2 + 1 + group.Length + 6 * 10 + 32 + GroupKey.NonceSize + 5 + ciphertext.Length + 2 * 10 + 1 + path.Length + 64];
        var at = 0;
        buffer[at++] = BinaryMarker;
        buffer[at++] = Version;
        buffer[at++] = (byte)group.Length;
        group.CopyTo(buffer, at);
        at += group.Length;
        foreach (var n in new[] { e.Epoch, e.Seq, e.SentAtMs, e.Order - e.SentAtMs, keyEpoch, logHead })
        {
            at = WriteVarint(buffer, at, n);
        }

        signingKey.CopyTo(buffer, at);
        at += 32;
        nonce.CopyTo(buffer, at);
        at += nonce.Length;
        at = WriteVarint(buffer, at, ciphertext.Length);
        ciphertext.CopyTo(buffer, at);
        at += ciphertext.Length;
        at = WriteVarint(buffer, at, index);
        at = WriteVarint(buffer, at, width);
        buffer[at++] = (byte)(path.Length / BurstTree.HashSize);
        path.CopyTo(buffer, at);
        at += path.Length;
        signature.CopyTo(buffer, at);
        at += signature.Length;
        return buffer[..at];
    }

    private static int WriteVarint(byte[] buffer, int at, long value)
    {
        var v = (ulong)value;
        while (v >= 0x80)
        {
            buffer[at++] = (byte)(v | 0x80);
            v >>= 7;
        }

        buffer[at++] = (byte)v;
        return at;
    }

    /// <summary>A non-negative number of at most 63 bits; false for anything else (too long, negative, cut short).</summary>
    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int at, out long value)
    {
        ulong v = 0;
        value = 0;
        for (var shift = 0; shift < 63; shift += 7)
        {
            if (at >= bytes.Length)
            {
                return false;
            }

            var b = bytes[at++];
            v |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                if (v > long.MaxValue)
                {
                    return false;
                }

                value = (long)v;
                return true;
            }
        }

        return false;
    }

    private static bool TryTake(ReadOnlySpan<byte> bytes, ref int at, int length, out byte[] taken)
    {
        taken = [];
        if (length < 0 || length > bytes.Length - at)
        {
            return false;
        }

        taken = bytes.Slice(at, length).ToArray();
        at += length;
        return true;
    }

    /// <summary>The binary form (version 6): every field bounded, nothing left over; null when anything is off.</summary>
    private static SealedEnvelope? TryParseBinary(ReadOnlySpan<byte> bytes)
    {
        var at = 2;
        if (bytes.Length < 3 || bytes[1] != Version)
        {
            return null;
        }

        int groupLength = bytes[at++];
        if (!TryTake(bytes, ref at, groupLength, out var groupBytes)
            || !TryReadVarint(bytes, ref at, out var epoch) || !TryReadVarint(bytes, ref at, out var seq) || !TryReadVarint(bytes, ref at, out var sentAt)
            || !TryReadVarint(bytes, ref at, out var lead) || !TryReadVarint(bytes, ref at, out var keyEpoch) || !TryReadVarint(bytes, ref at, out var logHead)
            || !TryTake(bytes, ref at, 32, out var key) || !TryTake(bytes, ref at, GroupKey.NonceSize, out var nonce)
            || !TryReadVarint(bytes, ref at, out var ciphertextLength) || ciphertextLength > bytes.Length
            || !TryTake(bytes, ref at, (int)ciphertextLength, out var ciphertext)
            || !TryReadVarint(bytes, ref at, out var index) || !TryReadVarint(bytes, ref at, out var width) || at >= bytes.Length)
        {
            return null;
        }

        int hashes = bytes[at++];
        if (hashes > BurstTree.MaxDepth || !TryTake(bytes, ref at, hashes * BurstTree.HashSize, out var path)
            || !TryTake(bytes, ref at, 64, out var signature) || at != bytes.Length)
        {
            return null;
        }

        string group;
        try
        {
            group = Strict.GetString(groupBytes);
        }
        catch (ArgumentException)
        {
            return null;
        }

        var order = sentAt + lead;
        if (!Naming.IsValidGroup(group) || epoch <= 0 || seq <= 0 || keyEpoch < 1 || lead > 9_999_999_999_999 || order > 9_999_999_999_999
            || width is < 1 or > BurstTree.MaxWidth || index >= width)
        {
            return null;
        }

        return new SealedEnvelope(group, PeerIdentity.DerivePeerId(key), epoch, seq, sentAt, key, nonce, ciphertext, signature)
        {
            Version = Version,
            Index = (int)index,
            Width = (int)width,
            Path = path,
            KeyEpoch = keyEpoch,
            LogHead = logHead,
            OrderMs = order,
        };
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The sealed plaintext of version 6: the sender's name (u8 length) and the text, UTF-8.</summary>
    private static byte[] InnerBinary(string from, string text)
    {
        var name = Encoding.UTF8.GetBytes(from);
        var body = Encoding.UTF8.GetBytes(text);
        var inner = new byte[1 + name.Length + body.Length];
        inner[0] = (byte)name.Length;
        name.CopyTo(inner, 1);
        body.CopyTo(inner, 1 + name.Length);
        return inner;
    }

    private static bool TryParseInnerBinary(ReadOnlySpan<byte> plaintext, out string from, out string text)
    {
        from = text = "";
        if (plaintext.Length < 1 || plaintext[0] > plaintext.Length - 1 || plaintext.Length - 1 - plaintext[0] > Naming.MaxTextBytes)
        {
            return false;
        }

        try
        {
            var f = Strict.GetString(plaintext.Slice(1, plaintext[0]));
            if (!Naming.IsValidName(f))
            {
                return false;
            }

            from = f;
            text = Strict.GetString(plaintext[(1 + plaintext[0])..]);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
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

        if (!(outer.Version >= Version ? TryParseInnerBinary(plaintext, out var from, out var text) : TryParseInner(plaintext, out from, out text)))
        {
            reason = RejectReason.Malformed;
            return null;
        }

        signingKey = outer.SigningKey;
        reason = RejectReason.None;
        return new Envelope(outer.Group, outer.PeerId, outer.Epoch, outer.Seq, from, outer.SentAtMs, text, outer.OrderMs) { LogHead = outer.LogHead };
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
            >= OrderVersion => string.Create(CultureInfo.InvariantCulture, $"mesh/{version}\n{group}\n{peer}\n{epoch}\n{seq}\n{sentAt}\n{keyEpoch}\n{logHead}\n{order}"),
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

        if (bytes[0] == BinaryMarker)
        {
            return TryParseBinary(bytes);
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

            var epochs = version is OrderVersion or KeyEpochVersion ? keyEpoch >= 1 && logHead >= 0 : keyEpoch < 0 && logHead < 0;
            // An order stamp is in version 5 only (of the JSON forms), and never below the send time it comes with.
            var stamped = version == OrderVersion ? order >= sentAt && order <= 9_999_999_999_999 : order < 0;
            var burst = version is OrderVersion or KeyEpochVersion or BurstVersion && epochs && stamped && width is >= 1 and <= BurstTree.MaxWidth && index >= 0 && index < width
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
