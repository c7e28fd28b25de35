using System.Text;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class EnvelopeCodecTests
{
    private static readonly PeerIdentity Sender = Identities.New();
    private static readonly GroupKey Key = GroupKey.Create();
    private static readonly Envelope Sample = new("ops", Sender.PeerId, 1795534684827, 42, "amy", 1795534684900, "héllo \"wörld\" 🌍\n", 1795534684950);

    private static Envelope? Open(byte[] frame, out RejectReason reason, GroupKey? key = null) =>
        EnvelopeCodec.TryOpen(frame, g => g == "ops" ? key ?? Key : null, out _, out reason);

    [Test]
    public void Seal_then_open_gives_the_same_envelope_and_the_signers_key()
    {
        var frame = EnvelopeCodec.Seal(Sample, Key, Sender);
        var opened = EnvelopeCodec.TryOpen(frame, _ => Key, out var signer, out var reason);
        Assert.That(reason, Is.EqualTo(RejectReason.None));
        Assert.That(opened, Is.EqualTo(Sample));
        Assert.That(signer, Is.EqualTo(Sender.SigningPublicKey));
    }

    [Test]
    public void The_name_and_text_are_not_in_the_sealed_bytes()
    {
        var frame = Encoding.UTF8.GetString(EnvelopeCodec.Seal(Sample with { From = "zelda", Text = "the secret plan" }, Key, Sender));
        Assert.That(frame, Does.Not.Contain("zelda").And.Not.Contain("secret"));
    }

    [Test]
    public void Another_groups_key_opens_nothing()
    {
        var frame = EnvelopeCodec.Seal(Sample, Key, Sender);
        Assert.That(Open(frame, out var reason, GroupKey.Create()), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.NotSealedForGroup));
    }

    [Test]
    public void A_changed_header_fails_the_signature()
    {
        var frame = Encoding.UTF8.GetString(EnvelopeCodec.SealJson(Sample, Key, Sender)).Replace("\"s\":42", "\"s\":43");
        Assert.That(Open(Encoding.UTF8.GetBytes(frame), out var reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
    }

    [Test]
    public void A_member_cannot_post_as_another_peer_id()
    {
        var other = Identities.New();
        // Signed by "other", but claiming Sender's peer id: the key does not hash to that id.
        var forged = EnvelopeCodec.Seal(Sample, Key, other);
        Assert.That(Open(forged, out var reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
    }

    [Test]
    public void History_names_sort_in_send_order()
    {
        var earlier = Sample with { SentAtMs = 999, OrderMs = 999, Seq = 9 };
        var later = Sample with { SentAtMs = 1000, OrderMs = 1000, Seq = 10 };
        Assert.That(string.CompareOrdinal(earlier.HistoryName, later.HistoryName), Is.LessThan(0));
        Assert.That(Sample.HistoryName, Is.EqualTo($"1795534684950-{Sender.PeerId}-1795534684827-0000000042"), "keys start with the order stamp");
        Assert.That((Sample with { OrderMs = 0 }).HistoryName, Does.StartWith("1795534684900-"), "older messages: by send time");
        Assert.That(Envelope.TryParseHistoryName(Sample.HistoryName, out var peer, out var epoch, out var seq), Is.True);
        Assert.That((peer, epoch, seq), Is.EqualTo((Sender.PeerId, Sample.Epoch, Sample.Seq)));
        Assert.That(Envelope.TryParseHistoryName("1795534684900-short-1-2", out _, out _, out _), Is.False);
        Assert.That(Envelope.TryParseHistoryName($"1-{Sender.PeerId}-x-2", out _, out _, out _), Is.False);
        Assert.That(Envelope.TryParseHistoryName($"1-{Sender.PeerId}-1-2-3", out _, out _, out _), Is.False);
    }

    [TestCase("")]
    [TestCase("{}")]
    [TestCase("[]")]
    [TestCase("null")]
    [TestCase("{\"v\":1,\"g\":\"ops\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":1,\"f\":\"a\",\"t\":1,\"x\":\"plaintext\"}")]
    [TestCase("{\"v\":2,\"g\":\"ops\"")]
    [TestCase("{\"v\":4,\"g\":\"ops\"}")]
    [TestCase("{\"v\":2,\"g\":\"bad group\",\"p\":\"x\",\"e\":1,\"s\":1,\"t\":1,\"k\":\"AA==\",\"n\":\"AA==\",\"c\":\"AA==\",\"sig\":\"AA==\"}")]
    public void Malformed_envelopes_are_rejected(string json)
    {
        Assert.That(Open(Encoding.UTF8.GetBytes(json), out var reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.Malformed));
    }

    [Test]
    public void Oversized_text_is_rejected_and_the_limit_accepted()
    {
        var big = EnvelopeCodec.Seal(Sample with { Text = new string('x', 16 * 1024 + 1) }, Key, Sender);
        Assert.That(Open(big, out var reason), Is.Null);
        Assert.That(reason, Is.EqualTo(RejectReason.Malformed));
        var limit = Sample with { Text = new string('x', 16 * 1024) };
        Assert.That(Open(EnvelopeCodec.Seal(limit, Key, Sender), out _), Is.EqualTo(limit));
    }

    [Test]
    public void The_order_stamp_is_authenticated_and_never_below_the_send_time()
    {
        var frame = Encoding.UTF8.GetString(EnvelopeCodec.SealJson(Sample, Key, Sender));
        Assert.That(frame, Does.Contain("\"o\":1795534684950"));
        Assert.That(Open(Encoding.UTF8.GetBytes(frame.Replace("\"o\":1795534684950", "\"o\":1795534684999")), out var reason), Is.Null,
            "a moved stamp would move the message in every view");
        Assert.That(reason, Is.EqualTo(RejectReason.BadSignature));
        Assert.That(EnvelopeCodec.TryParse(Encoding.UTF8.GetBytes(frame.Replace("\"o\":1795534684950", "\"o\":1"))), Is.Null);
        Assert.That(EnvelopeCodec.TryParse(Encoding.UTF8.GetBytes(frame.Replace("\"o\":1795534684950,", ""))), Is.Null, "version 5 carries a stamp");
    }

    [Test]
    public void Unknown_fields_are_skipped()
    {
        var json = Encoding.UTF8.GetString(EnvelopeCodec.SealJson(Sample, Key, Sender)).Replace("{\"v\":5,", "{\"future\":[1,2],\"v\":5,");
        Assert.That(json, Does.StartWith("{\"future\""));
        Assert.That(Open(Encoding.UTF8.GetBytes(json), out _), Is.EqualTo(Sample));
    }

    [Test]
    public void One_hundred_thousand_random_and_mutated_frames_never_throw_and_every_rejection_is_counted()
    {
        var valid = EnvelopeCodec.Seal(Sample with { Text = "short" }, Key, Sender);
        var validJson = EnvelopeCodec.SealJson(Sample with { Text = "short" }, Key, Sender);
        var random = new Random(7);
        var rejected = new Dictionary<RejectReason, int>();
        var accepted = 0;
        const int Frames = 100_000;
        for (var i = 0; i < Frames; i++)
        {
            byte[] frame;
            switch (i % 4)
            {
                case 0:
                    frame = (byte[])valid.Clone();
                    frame[random.Next(frame.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    frame = valid[..random.Next(valid.Length)];
                    break;
                case 2:
                    frame = new byte[random.Next(0, 512)];
                    random.NextBytes(frame);
                    break;
                default:
                    // Valid JSON shape with random values in each field.
                    frame = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(validJson).Replace("\"e\":1795534684827", $"\"e\":{random.NextInt64(-5, long.MaxValue)}"));
                    break;
            }

            if (Open(frame, out var reason) is null)
            {
                rejected[reason] = rejected.GetValueOrDefault(reason) + 1;
            }
            else
            {
                accepted++;
            }
        }

        TestContext.Out.WriteLine($"{Frames} frames: {accepted} accepted, rejected {string.Join(", ", rejected.Select(r => $"{r.Key} {r.Value}"))}");
        Assert.That(accepted + rejected.Values.Sum(), Is.EqualTo(Frames));
        Assert.That(rejected.Keys, Does.Contain(RejectReason.Malformed).And.Contain(RejectReason.BadSignature));
        // A mutation that still verifies can only be a no-op one (a byte replaced by itself).
        Assert.That(accepted, Is.LessThan(Frames / 100));
    }

    [Test]
    public void Version_5_json_written_before_the_binary_form_still_opens()
    {
        var json = EnvelopeCodec.SealJson(Sample, Key, Sender);
        Assert.That(json[0], Is.EqualTo((byte)'{'));
        Assert.That(EnvelopeCodec.TryParse(json)!.Version, Is.EqualTo(EnvelopeCodec.OrderVersion));
        Assert.That(Open(json, out var reason), Is.EqualTo(Sample), reason.ToString());
    }

    [Test]
    public void The_binary_form_is_about_half_the_bytes_of_json_and_carries_non_ascii_text_unescaped()
    {
        var text = new Envelope("ops", Sender.PeerId, 1795534684827, 42, "amy", 1795534684900, new string('x', 100), 1795534684950);
        var binary = EnvelopeCodec.Seal(text, Key, Sender);
        var json = EnvelopeCodec.SealJson(text, Key, Sender);
        TestContext.Out.WriteLine($"100-byte text: binary {binary.Length} B, JSON {json.Length} B");
        Assert.That(binary[0], Is.EqualTo(EnvelopeCodec.BinaryMarker));
        Assert.That(binary.Length, Is.LessThan(json.Length * 0.6));
        var emoji = text with { Text = string.Concat(Enumerable.Repeat("🌍", 25)) };
        Assert.That(EnvelopeCodec.Seal(emoji, Key, Sender).Length, Is.LessThan(binary.Length + 16), "100 bytes of emoji cost what 100 bytes of ASCII do");
        Assert.That(Open(EnvelopeCodec.Seal(emoji, Key, Sender), out _), Is.EqualTo(emoji));
    }

    [Test]
    public void Every_byte_of_a_binary_envelope_changed_and_every_cut_or_extension_is_refused()
    {
        var valid = EnvelopeCodec.SealBurst([Sample, Sample with { Seq = 43 }, Sample with { Seq = 44 }], Key, Sender)[1];
        for (var at = 0; at < valid.Length; at++)
        {
            foreach (var flip in new byte[] { 0x01, 0x80, 0xff })
            {
                var frame = (byte[])valid.Clone();
                frame[at] ^= flip;
                Assert.That(Open(frame, out _), Is.Null, $"byte {at} xor {flip:x2}");
            }

            Assert.That(EnvelopeCodec.TryParse(valid[..at]), Is.Null, $"cut at {at}");
        }

        Assert.That(EnvelopeCodec.TryParse([.. valid, 0]), Is.Null, "a byte after the signature");
        Assert.That(Open(valid, out _), Is.EqualTo(Sample with { Seq = 43 }));
        Assert.That(EnvelopeCodec.TryParse(valid)!.PeerId, Is.EqualTo(Sender.PeerId), "the peer id is the signing key's hash");
    }
}
