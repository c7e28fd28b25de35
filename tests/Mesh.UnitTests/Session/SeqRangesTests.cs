using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class SeqRangesTests
{
    [Test]
    public void Removing_from_the_middle_splits_a_range_and_adjacent_additions_merge()
    {
        var r = new SeqRanges();
        r.AddAbove(10, 20);
        r.AddAbove(21, 30);
        Assert.That(r.Count, Is.EqualTo(1));
        Assert.That(r.Remove(15), Is.True);
        Assert.That(r.Remove(15), Is.False);
        Assert.That(r.Count, Is.EqualTo(2));
        Assert.That(r.Contains(14) && r.Contains(16) && r.Contains(10) && r.Contains(30), Is.True);
        Assert.That(r.Contains(9) || r.Contains(31) || r.Contains(15), Is.False);
        Assert.That(r.Remove(10) && r.Remove(30), Is.True);
        Assert.That(r.Contains(11) && r.Contains(29), Is.True);
    }

    [Test]
    public void The_number_of_ranges_is_bounded_by_forgetting_the_lowest()
    {
        var r = new SeqRanges();
        for (long i = 0; i < SeqRanges.MaxRanges + 10; i++)
        {
            r.AddAbove(i * 10, i * 10 + 5);
        }

        Assert.That(r.Count, Is.EqualTo(SeqRanges.MaxRanges));
        Assert.That(r.Forgotten, Is.EqualTo(10));
        Assert.That(r.Contains(0), Is.False);
        Assert.That(r.Contains((SeqRanges.MaxRanges + 9) * 10L), Is.True);
    }
}
