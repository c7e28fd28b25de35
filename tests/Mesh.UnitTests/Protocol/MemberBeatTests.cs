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
    [TestCase("\u0001b @12 @13")]
    [TestCase("\u0001b @12 1:5")]
    [TestCase("\u0001b ^0123456789abcdef/1/2 1:5")]
    [TestCase("\u0001b ^0123456789ABCDEF/1/2")]
    [TestCase("\u0001b ^0123456789abcde/1/2")]
    [TestCase("\u0001b ^0123456789abcdef/1")]
    [TestCase("\u0001b ^0123456789abcdef//2")]
    [TestCase("\u0001b ^0123456789abcdef/1/-2")]
    [TestCase("\u0001b @")]
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

    [Test]
    public void A_beat_carries_its_send_time_and_the_echoes_of_the_beats_heard()
    {
        var beat = new MemberBeat([new MemberBeat.Tail(7, 3)])
        {
            SentUs = 123456789,
            Echoes = [new MemberBeat.Echo("0123456789abcdef", 1000, 250), new MemberBeat.Echo("fedcba9876543210", 2000, 0)],
        };
        var parsed = MemberBeat.TryParse(beat.Encode())!;
        Assert.That(parsed.SentUs, Is.EqualTo(123456789));
        Assert.That(parsed.Echoes, Is.EqualTo(beat.Echoes));
        Assert.That(parsed.Tails, Is.EqualTo(beat.Tails));
    }

    [Test]
    public void The_largest_beat_fits_its_bound_and_one_echo_more_is_refused()
    {
        var echoes = Enumerable.Range(0, MemberBeat.MaxEchoes).Select(i => new MemberBeat.Echo($"{i:x16}", long.MaxValue / 10, long.MaxValue / 10)).ToList();
        var tails = Enumerable.Range(0, MemberBeat.MaxTails).Select(i => new MemberBeat.Tail(long.MaxValue / 10, long.MaxValue / 10)).ToList();
        var largest = new MemberBeat(tails) { SentUs = long.MaxValue / 10, Echoes = echoes }.Encode();
        Assert.That(largest.Length, Is.LessThanOrEqualTo(MemberBeat.MaxBytes));
        Assert.That(MemberBeat.TryParse(largest)!.Echoes, Has.Count.EqualTo(MemberBeat.MaxEchoes));
        var more = Encoding.ASCII.GetBytes("\u0001b" + string.Concat(Enumerable.Range(0, MemberBeat.MaxEchoes + 1).Select(i => $" ^{i:x16}/1/1")));
        Assert.That(MemberBeat.TryParse(more), Is.Null);
    }

    [Test]
    public void A_beat_carries_the_senders_log_head_last_and_a_malformed_one_is_refused()
    {
        var beat = new MemberBeat([new MemberBeat.Tail(7, 3)]) { SentUs = 12, Head = (42, "0123456789abcdef") };
        var parsed = MemberBeat.TryParse(beat.Encode())!;
        Assert.That(parsed.Head, Is.EqualTo(((long)42, "0123456789abcdef")));
        Assert.That(parsed.Tails.Single().LastSeq, Is.EqualTo(3));
        foreach (var bad in new[] { "\u0001b #42/0123", "\u0001b #42/0123456789ABCDEF", "\u0001b #/0123456789abcdef", "\u0001b #42/0123456789abcdef 7:3" })
        {
            Assert.That(MemberBeat.TryParse(System.Text.Encoding.ASCII.GetBytes(bad)), Is.Null, bad);
        }
    }
}
