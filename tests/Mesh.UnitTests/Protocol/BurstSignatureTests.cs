using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class BurstSignatureTests
{
    private static readonly PeerIdentity Sender = Identities.New();
    private static readonly GroupKey Key = GroupKey.Create();

    private static List<Envelope> Burst(int count, long firstSeq = 1) =>
        [.. Enumerable.Range(0, count).Select(i => new Envelope("ops", Sender.PeerId, 7, firstSeq + i, "amy", 1795534684900 + i, $"message {i}", 1795534684900 + i))];

    private static Envelope? Open(byte[] frame, out RejectReason reason, VerifiedBursts? verified = null) =>
        EnvelopeCodec.TryOpen(frame, g => g == "ops" ? Key : null, out _, out reason, verified);

    private static byte[] Edit(byte[] frame, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(frame)!.AsObject();
        edit(json);
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    [Test]
    public void Every_leaf_of_every_width_leads_to_the_root_and_nowhere_else()
    {
        for (var width = 1; width <= 70; width++)
        {
            var leaves = Enumerable.Range(0, width).Select(i => BurstTree.Leaf([0, .. BitConverter.GetBytes(i)])).ToList();
            var (root, paths) = BurstTree.Build(leaves);
            for (var i = 0; i < width; i++)
            {
                Assert.That(BurstTree.RootOf(leaves[i], i, width, paths[i]), Is.EqualTo(root), $"leaf {i} of {width}");
                Assert.That(paths[i].Length, Is.LessThanOrEqualTo(BurstTree.HashSize * (int)Math.Ceiling(Math.Log2(width))));
                if (width > 1)
                {
                    // The same leaf and path claimed at another place, a shortened path, a lengthened one: never the root.
                    Assert.That(BurstTree.RootOf(leaves[i], (i + 1) % width, width, paths[i]), Is.Not.EqualTo(root));
                    Assert.That(BurstTree.RootOf(leaves[i], i, width, paths[i][BurstTree.HashSize..]), Is.Not.EqualTo(root));
                    Assert.That(BurstTree.RootOf(leaves[(i + 1) % width], i, width, paths[i]), Is.Not.EqualTo(root));
                }

                Assert.That(BurstTree.RootOf(leaves[i], i, width, [.. paths[i], .. new byte[BurstTree.HashSize]]), Is.Null);
            }
        }
    }

    [Test]
    public void A_burst_is_signed_once_and_each_message_opens_alone()
    {
        var burst = Burst(64);
        var frames = EnvelopeCodec.SealBurstJson(burst, Key, Sender);
        var signatures = frames.Select(f => JsonNode.Parse(f)!["sig"]!.GetValue<string>()).Distinct().ToList();
        Assert.That(signatures, Has.Count.EqualTo(1));
        for (var i = 0; i < frames.Length; i++)
        {
            Assert.That(Open(frames[i], out var reason), Is.EqualTo(burst[i]), $"message {i}: {reason}");
        }
    }

    [Test]
    public void A_message_cannot_be_moved_altered_or_re_placed_within_its_burst()
    {
        var frames = EnvelopeCodec.SealBurstJson(Burst(5), Key, Sender);
        var second = JsonNode.Parse(frames[1])!.AsObject();
        var forged = new[]
        {
            // Another message's ciphertext under this header (the AEAD would also refuse, the signature first).
            Edit(frames[0], j => j["c"] = second["c"]!.GetValue<string>()),
            // Its path claimed at another index.
            Edit(frames[0], j => j["i"] = 1),
            // The burst said to be narrower or wider.
            Edit(frames[4], j => j["w"] = 4),
            Edit(frames[0], j => j["w"] = 6),
            // A sibling hash changed.
            Edit(frames[0], j =>
            {
                var path = Convert.FromBase64String(j["m"]!.GetValue<string>());
                path[3] ^= 1;
                j["m"] = Convert.ToBase64String(path);
            }),
            // A header field changed.
            Edit(frames[2], j => j["s"] = 99),
        };
        foreach (var frame in forged)
        {
            Assert.That(Open(frame, out var reason), Is.Null);
            Assert.That(reason, Is.EqualTo(RejectReason.BadSignature).Or.EqualTo(RejectReason.Malformed));
        }
    }

    [Test]
    public void Another_bursts_signature_does_not_cover_a_message()
    {
        var first = EnvelopeCodec.SealBurstJson(Burst(3), Key, Sender);
        var second = EnvelopeCodec.SealBurstJson(Burst(3, firstSeq: 10), Key, Sender);
        var swapped = Edit(first[0], j => j["sig"] = JsonNode.Parse(second[0])!["sig"]!.GetValue<string>());
        Assert.That(Open(swapped, out var reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
    }

    [Test]
    public void A_checked_root_spares_the_signature_check_of_the_rest_of_its_burst()
    {
        var frames = EnvelopeCodec.SealBurstJson(Burst(8), Key, Sender);
        var verified = new VerifiedBursts();
        Assert.That(Open(frames[0], out _, verified), Is.Not.Null);
        Assert.That(verified.Count, Is.EqualTo(1));

        // The signature is no longer looked at for this root: a garbled one still opens with the cache, not without.
        var garbled = Edit(frames[5], j => j["sig"] = Convert.ToBase64String(new byte[64]));
        Assert.That(Open(garbled, out _), Is.Null);
        Assert.That(Open(garbled, out _, verified), Is.Not.Null);

        // A root is only remembered for the peer that signed it.
        var other = Identities.New();
        var foreign = EnvelopeCodec.SealBurstJson([new Envelope("ops", other.PeerId, 1, 1, "bob", 1, "hi")], Key, other);
        Assert.That(Open(foreign[0], out _, verified), Is.Not.Null);
        Assert.That(verified.Count, Is.EqualTo(2));
    }

    [Test]
    public void A_remembered_key_does_not_let_another_key_speak_for_its_peer()
    {
        var verified = new VerifiedBursts();
        Assert.That(Open(EnvelopeCodec.SealJson(Burst(1)[0], Key, Sender), out _, verified), Is.Not.Null);
        var other = Identities.New();
        var forged = EnvelopeCodec.SealJson(Burst(1, firstSeq: 2)[0], Key, other);
        Assert.That(Open(forged, out var reason, verified), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
    }

    [Test]
    public void A_bad_signature_is_not_remembered()
    {
        var frames = EnvelopeCodec.SealBurstJson(Burst(2), Key, Sender);
        var verified = new VerifiedBursts();
        var garbled = Edit(frames[0], j => j["sig"] = Convert.ToBase64String(new byte[64]));
        Assert.That(Open(garbled, out var reason, verified), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
        Assert.That(verified.Count, Is.Zero);
        Assert.That(Open(frames[1], out _, verified), Is.Not.Null);
    }

    [Test]
    public void The_cache_keeps_only_the_newest_roots()
    {
        var verified = new VerifiedBursts();
        for (var i = 0; i < VerifiedBursts.Capacity + 10; i++)
        {
            verified.Add("p", SHA256.HashData(BitConverter.GetBytes(i)));
        }

        Assert.That(verified.Count, Is.EqualTo(VerifiedBursts.Capacity));
        Assert.That(verified.Contains("p", SHA256.HashData(BitConverter.GetBytes(0))), Is.False);
        Assert.That(verified.Contains("p", SHA256.HashData(BitConverter.GetBytes(VerifiedBursts.Capacity + 9))), Is.True);
        Assert.That(verified.Contains("q", SHA256.HashData(BitConverter.GetBytes(VerifiedBursts.Capacity + 9))), Is.False);
    }

    [Test]
    public void Version_2_history_signed_message_by_message_is_still_read_and_checked()
    {
        var e = new Envelope("ops", Sender.PeerId, 3, 4, "amy", 1700000000000, "from before bursts");
        var header = Encoding.UTF8.GetBytes($"mesh/2\n{e.Group}\n{e.PeerId}\n{e.Epoch}\n{e.Seq}\n{e.SentAtMs}");
        var nonce = RandomNumberGenerator.GetBytes(GroupKey.NonceSize);
        var ciphertext = Key.Seal(nonce, header, Encoding.UTF8.GetBytes("{\"f\":\"amy\",\"x\":\"from before bursts\"}"));
        var signature = Sender.Sign([.. header, 0, .. nonce, .. ciphertext]);
        var json = new JsonObject
        {
            ["v"] = 2,
            ["g"] = e.Group,
            ["p"] = e.PeerId,
            ["e"] = e.Epoch,
            ["s"] = e.Seq,
            ["t"] = e.SentAtMs,
            ["k"] = Convert.ToBase64String(Sender.SigningPublicKey),
            ["n"] = Convert.ToBase64String(nonce),
            ["c"] = Convert.ToBase64String(ciphertext),
            ["sig"] = Convert.ToBase64String(signature),
        };
        var frame = Encoding.UTF8.GetBytes(json.ToJsonString());
        Assert.That(Open(frame, out var reason), Is.EqualTo(e), reason.ToString());
        Assert.That(Open(Edit(frame, j => j["s"] = 5), out reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
        // A version 2 envelope cannot borrow the burst fields, nor a version 3 one drop them.
        Assert.That(Open(Edit(frame, j => { j["i"] = 0; j["w"] = 1; j["m"] = ""; }), out reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.Malformed));
        var v3 = EnvelopeCodec.SealJson(e, Key, Sender);
        Assert.That(Open(Edit(v3, j => j.Remove("w")), out reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.Malformed));
    }
}
