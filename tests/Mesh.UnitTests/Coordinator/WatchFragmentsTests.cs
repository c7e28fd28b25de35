using Mesh.Coordinator.Etcd;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class WatchFragmentsTests
{
    private static KeyChange Change(string key, long revision) => new(key, false, [], revision, 0);

    [Test]
    public void A_fragment_is_handed_over_up_to_its_last_revision_which_waits_for_the_next_fragment()
    {
        var changes = new List<KeyChange> { Change("a", 5), Change("b", 6), Change("c", 7), Change("d", 7) };
        var held = PrefixWatcher.TakeLastRevision(changes);
        Assert.That(changes.Select(c => c.Key), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(held.Select(c => c.Key), Is.EqualTo(new[] { "c", "d" }));
    }

    [Test]
    public void A_fragment_of_one_revision_is_held_whole()
    {
        var changes = new List<KeyChange> { Change("a", 9), Change("b", 9) };
        var held = PrefixWatcher.TakeLastRevision(changes);
        Assert.That(changes, Is.Empty);
        Assert.That(held, Has.Count.EqualTo(2));
        Assert.That(PrefixWatcher.TakeLastRevision([]), Is.Empty);
    }
}
