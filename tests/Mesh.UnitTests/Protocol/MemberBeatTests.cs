using System.Text;
using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class MemberBeatTests
{
    [Test]
    public void A_beat_reads_back_as_written()
    {
        var beat = new MemberBeat([new MemberBeat.Tail(1733000000123, 42), new MemberBeat.Tail(7, 1)]);
        var parsed = MemberBeat.TryParse(beat.Encode());
        Assert.That(parsed, Is.Not.Null);
        Assert.That(parsed!.Tails, Is.EqualTo(beat.Tails));
    }

    [Test]
    public void A_beat_cannot_be_taken_for_an_envelope_nor_an_envelope_for_a_beat()
    {
        var beat = new MemberBeat([new MemberBeat.Tail(1, 1)]).Encode();
        Assert.That(EnvelopeCodec.TryParse(beat), Is.Null);
        Assert.That(MemberBeat.IsBeat("{\"v\":5}"u8), Is.False);
    }

    [TestCase("\u0001b 1")]
    [TestCase("\u0001b 1:")]
    [TestCase("\u0001b :5")]
    [TestCase("\u0001b 1:0")]
    [TestCase("\u0001b 1:-5")]
    [TestCase("\u0001b  1:5")]
    [TestCase("\u0001b 1:5 ")]
    [TestCase("\u0001b 1:99999999999999999999")]
    [TestCase("\u0001bx 1:5")]
    [TestCase("\u0001b 1:5 2:6 3:7 4:8 5:9 6:10 7:11 8:12 9:13")]
    public void Anything_but_a_well_formed_bounded_beat_is_refused(string text) =>
        Assert.That(MemberBeat.TryParse(Encoding.ASCII.GetBytes(text)), Is.Null);

    [Test]
    public void A_beat_with_no_runs_is_well_formed() =>
        Assert.That(MemberBeat.TryParse("\u0001b"u8)!.Tails, Is.Empty);

    [Test]
    public void Random_bytes_after_the_marker_never_throw()
    {
        var random = new Random(14);
        for (var i = 0; i < 10_000; i++)
        {
            var bytes = new byte[random.Next(2, 400)];
            random.NextBytes(bytes);
            bytes[0] = 0x01;
            bytes[1] = (byte)'b';
            Assert.DoesNotThrow(() => MemberBeat.TryParse(bytes));
        }
    }
}
