using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class ParkedFramesTests
{
    [Test]
    public void What_is_parked_comes_back_in_order_once_and_the_park_is_empty_after()
    {
        var park = new ParkedFrames();
        park.Add(null, "a", [1]);
        park.Add("name", "b", [2, 2]);
        var back = park.TakeAll();
        Assert.That(back.Select(i => (i.HistoryName, i.PeerId)), Is.EqualTo(new (string?, string)[] { (null, "a"), ("name", "b") }));
        Assert.That((park.Count, park.Bytes), Is.EqualTo((0, 0L)));
        Assert.That(park.TakeAll(), Is.Empty);
    }

    [Test]
    public void A_flood_keeps_the_newest_within_the_count_and_says_how_many_it_dropped()
    {
        var park = new ParkedFrames(maxCount: 3, maxBytes: 1_000);
        var dropped = Enumerable.Range(0, 10).Sum(i => park.Add(null, $"p{i}", [(byte)i]));
        Assert.That(dropped, Is.EqualTo(7));
        Assert.That(park.TakeAll().Select(i => i.PeerId), Is.EqualTo(new[] { "p7", "p8", "p9" }));
    }

    [Test]
    public void The_bytes_held_stay_within_the_bound()
    {
        var park = new ParkedFrames(maxCount: 1_000, maxBytes: 100);
        for (var i = 0; i < 50; i++)
        {
            park.Add(null, "p", new byte[30]);
            Assert.That(park.Bytes, Is.LessThanOrEqualTo(100));
        }

        Assert.That(park.Count, Is.EqualTo(3));
        Assert.That(park.Add(null, "p", new byte[101]), Is.EqualTo(1), "larger than the bound on its own: dropped itself");
        Assert.That(park.Count, Is.EqualTo(3), "and nothing else for it");
    }

    [Test]
    public void Parking_from_many_threads_at_once_loses_no_count()
    {
        var park = new ParkedFrames(maxCount: 100_000, maxBytes: long.MaxValue);
        Parallel.For(0, 20_000, i => park.Add($"n{i}", "p", [0]));
        Assert.That((park.Count, park.Bytes), Is.EqualTo((20_000, 20_000L)));
    }
}
