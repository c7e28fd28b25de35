using System.Text;
using Mesh.Coordinator.History;
using Mesh.Peer.Home;

namespace Mesh.UnitTests.Home;

[Category("Unit")]
public sealed class HistoryCatchUpTests
{
    private static HistoryEntry E(int i, string tag = "") => new("ops", $"{i:D13}-p", Encoding.UTF8.GetBytes($"v{i}{tag}"));

    private static LocalCopy Copy(long revision, string cluster = "c1") => new([E(1), E(2)], revision, cluster, 0);

    [Test]
    public void A_copy_is_continued_only_against_the_cluster_and_revisions_it_came_from()
    {
        Assert.That(HistoryCatchUp.Plan(Copy(0), "c1", 50).Kind, Is.EqualTo(CatchUpKind.ReadAll));
        Assert.That(HistoryCatchUp.Plan(Copy(40), "c1", 50).Kind, Is.EqualTo(CatchUpKind.ReadSince));
        Assert.That(HistoryCatchUp.Plan(Copy(40), "c1", 40).Kind, Is.EqualTo(CatchUpKind.ReadSince));
        var restored = HistoryCatchUp.Plan(Copy(40), "c1", 30);
        Assert.That(restored.Kind, Is.EqualTo(CatchUpKind.Reconcile));
        Assert.That(restored.Reason, Does.Contain("went back from 40 to 30"));
        var replaced = HistoryCatchUp.Plan(Copy(40), "c2", 900);
        Assert.That(replaced.Kind, Is.EqualTo(CatchUpKind.Reconcile));
        Assert.That(replaced.Reason, Does.Contain("another cluster"));
        Assert.That(HistoryCatchUp.Plan(Copy(40, cluster: ""), "c2", 900).Kind, Is.EqualTo(CatchUpKind.ReadSince), "a copy from before clusters were noted");
        Assert.That(HistoryCatchUp.Plan(Copy(40), "c1", 900, witnessHeld: false).Kind, Is.EqualTo(CatchUpKind.Reconcile),
            "restored from a snapshot, then written past the copy's revision: the last entry taken is gone");
    }

    [Test]
    public void Merge_is_in_key_order_with_each_name_once_and_what_etcd_lost_is_found()
    {
        var local = new[] { E(1), E(3), E(5) };
        var fetched = new[] { E(4), E(3, "again"), E(2) };
        var merged = HistoryCatchUp.Merge(local, fetched);
        Assert.That(merged.Select(e => e.Name), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }.Select(i => $"{i:D13}-p")));
        Assert.That(Encoding.UTF8.GetString(merged[2].Value), Is.EqualTo("v3"), "the copy's entry is kept");
        Assert.That(HistoryCatchUp.MissingFromEtcd(local, fetched).Select(e => e.Name), Is.EqualTo(new[] { E(1).Name, E(5).Name }));
        Assert.That(HistoryCatchUp.Merge([], [E(2), E(1), E(2)]).Select(e => e.Name), Is.EqualTo(new[] { E(1).Name, E(2).Name }),
            "a read that met a compaction hands some over twice, out of order");
    }
}
