using System.Text;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class EnvelopeCodecTests
{
    private static readonly Envelope Sample = new("ops", "0123456789abcdef", 1795534684827, 42, "amy", 1795534684900, "héllo \"wörld\" 🌍\n");

    [Test]
    public void Encode_then_decode_gives_the_same_envelope()
    {
        var decoded = EnvelopeCodec.TryDecode(EnvelopeCodec.Encode(Sample));
        Assert.That(decoded, Is.EqualTo(Sample));
        Assert.That(decoded!.Id, Is.EqualTo("0123456789abcdef:1795534684827:42"));
    }

    [Test]
    public void History_names_sort_in_send_order()
    {
        var earlier = Sample with { SentAtMs = 999, Seq = 9 };
        var later = Sample with { SentAtMs = 1000, Seq = 10 };
        Assert.That(string.CompareOrdinal(earlier.HistoryName, later.HistoryName), Is.LessThan(0));
        Assert.That(Sample.HistoryName, Is.EqualTo("1795534684900-0123456789abcdef-1795534684827-0000000042"));
    }

    [TestCase("")]
    [TestCase("{}")]
    [TestCase("[]")]
    [TestCase("null")]
    [TestCase("{\"v\":2,\"g\":\"ops\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":1,\"f\":\"a\",\"t\":1,\"x\":\"t\"}")]
    [TestCase("{\"v\":1,\"g\":\"bad group\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":1,\"f\":\"a\",\"t\":1,\"x\":\"t\"}")]
    [TestCase("{\"v\":1,\"g\":\"ops\",\"p\":\"short\",\"e\":1,\"s\":1,\"f\":\"a\",\"t\":1,\"x\":\"t\"}")]
    [TestCase("{\"v\":1,\"g\":\"ops\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":0,\"f\":\"a\",\"t\":1,\"x\":\"t\"}")]
    [TestCase("{\"v\":1,\"g\":\"ops\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":\"1\",\"f\":\"a\",\"t\":1,\"x\":\"t\"}")]
    [TestCase("{\"v\":1,\"g\":\"ops\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":1,\"f\":\"a\",\"t\":1}")]
    [TestCase("{\"v\":1,\"g\":\"ops\",\"p\":\"0123456789abcdef\",\"e\":1,\"s\":1,\"f\":\"a\",\"t\":1,\"x\":{\"deep\":[1]}}")]
    [TestCase("{\"v\":1,\"g\":\"ops\"")]
    public void Malformed_envelopes_are_rejected(string json) =>
        Assert.That(EnvelopeCodec.TryDecode(Encoding.UTF8.GetBytes(json)), Is.Null);

    [Test]
    public void Oversized_text_is_rejected()
    {
        var big = Sample with { Text = new string('x', 16 * 1024 + 1) };
        Assert.That(EnvelopeCodec.TryDecode(EnvelopeCodec.Encode(big)), Is.Null);
        var limit = Sample with { Text = new string('x', 16 * 1024) };
        Assert.That(EnvelopeCodec.TryDecode(EnvelopeCodec.Encode(limit)), Is.EqualTo(limit));
    }

    [Test]
    public void Unknown_fields_are_skipped()
    {
        var json = Encoding.UTF8.GetString(EnvelopeCodec.Encode(Sample)).Replace("{\"v\":1,", "{\"future\":[1,2],\"v\":1,");
        Assert.That(EnvelopeCodec.TryDecode(Encoding.UTF8.GetBytes(json)), Is.EqualTo(Sample));
    }

    [Test]
    public void Mutated_frames_never_throw()
    {
        // Every single-byte mutation and every truncation of a valid frame: rejected or decoded, never an exception.
        var valid = EnvelopeCodec.Encode(Sample);
        var random = new Random(7);
        var decoded = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var frame = (byte[])valid.Clone();
            if (i % 2 == 0)
            {
                frame[random.Next(frame.Length)] = (byte)random.Next(256);
            }
            else
            {
                frame = frame[..random.Next(frame.Length)];
            }

            if (EnvelopeCodec.TryDecode(frame) is not null)
            {
                decoded++;
            }
        }

        Assert.That(decoded, Is.LessThan(20_000));
    }
}
