using Mesh.Peer.Protocol;

namespace Mesh.UnitTests.Protocol;

[Category("Unit")]
public sealed class BurstFrameTests
{
    private static byte[] Envelope(int size, byte fill = (byte)'x')
    {
        var bytes = new byte[size];
        Array.Fill(bytes, fill);
        bytes[0] = (byte)'{';
        return bytes;
    }

    [Test]
    public void A_burst_travels_as_one_frame_and_splits_back_into_its_envelopes_in_order()
    {
        var payloads = Enumerable.Range(1, 64).Select(i => Envelope(500 + i, (byte)i)).ToList();
        var frames = BurstFrame.Pack(payloads);
        Assert.That(frames, Has.Count.EqualTo(1));
        var back = BurstFrame.TrySplit(frames[0])!;
        Assert.That(back.Count, Is.EqualTo(payloads.Count));
        Assert.That(back.Zip(payloads).All(p => p.First.AsSpan().SequenceEqual(p.Second)), Is.True);
    }

    [Test]
    public void A_lone_envelope_travels_bare()
    {
        var lone = Envelope(300);
        Assert.That(BurstFrame.Pack([lone]).Single(), Is.SameAs(lone));
    }

    [Test]
    public void A_burst_too_large_for_one_frame_travels_in_several_none_over_the_limit()
    {
        var payloads = Enumerable.Range(0, 64).Select(_ => Envelope(EnvelopeCodec.MaxEncodedBytes / 3)).ToList();
        var frames = BurstFrame.Pack(payloads);
        Assert.That(frames, Has.Count.GreaterThan(1));
        Assert.That(frames.Max(f => f.Length), Is.LessThanOrEqualTo(BurstFrame.MaxBytes));
        var back = frames.SelectMany(f => BurstFrame.IsBurst(f) ? BurstFrame.TrySplit(f)! : [f]).ToList();
        Assert.That(back.Count, Is.EqualTo(payloads.Count));
        Assert.That(back.Zip(payloads).All(p => p.First.AsSpan().SequenceEqual(p.Second)), Is.True);
    }

    [Test]
    public void The_largest_envelope_fits_a_frame_alone()
    {
        var largest = Envelope(EnvelopeCodec.MaxEncodedBytes);
        var payloads = new[] { Envelope(10), largest, Envelope(10), largest };
        var frames = BurstFrame.Pack(payloads);
        Assert.That(frames.Max(f => f.Length), Is.LessThanOrEqualTo(BurstFrame.MaxBytes));
        var back = frames.SelectMany(f => BurstFrame.IsBurst(f) ? BurstFrame.TrySplit(f)! : [f]).ToList();
        Assert.That(back.Count, Is.EqualTo(payloads.Length));
        Assert.That(back.Zip(payloads).All(p => p.First.AsSpan().SequenceEqual(p.Second)), Is.True, "every envelope back, in order");
    }

    [Test]
    public void Malformed_frames_are_refused_not_thrown_on()
    {
        Assert.That(BurstFrame.TrySplit([0x01, (byte)'m']), Is.Null, "no parts");
        Assert.That(BurstFrame.TrySplit([0x01, (byte)'m', 0, 0, 0, 9, (byte)'{']), Is.Null, "a part past the end");
        Assert.That(BurstFrame.TrySplit([0x01, (byte)'m', 0, 0, 0, 0]), Is.Null, "an empty part");
        Assert.That(BurstFrame.TrySplit([0x01, (byte)'m', 0x80, 0, 0, 1, (byte)'{']), Is.Null, "a negative length");
        Assert.That(BurstFrame.TrySplit([0x01, (byte)'m', 0, 0, 0, 2, 0x01, (byte)'m']), Is.Null, "a burst inside a burst");
        Assert.That(BurstFrame.TrySplit(new byte[BurstFrame.MaxBytes + 1]), Is.Null);
        var random = new Random(4);
        for (var i = 0; i < 10_000; i++)
        {
            var bytes = new byte[random.Next(2, 200)];
            random.NextBytes(bytes);
            bytes[0] = 0x01;
            bytes[1] = (byte)'m';
            Assert.DoesNotThrow(() => BurstFrame.TrySplit(bytes));
        }
    }
}
