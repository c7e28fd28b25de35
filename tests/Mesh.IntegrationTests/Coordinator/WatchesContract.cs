using Mesh.Coordinator;
using Mesh.Coordinator.Groups;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="Mesh.Coordinator.Etcd.IWatches"/> must do; run against the in-memory twin and
/// against real etcd.</summary>
public abstract class WatchesContract : PortContract
{
    private string NewPrefix() => $"/mesh/test/{Unique("w")}/";

    [Test]
    public async Task A_watch_from_a_revision_sees_every_later_change_under_its_prefix_once_in_order()
    {
        var prefix = NewPrefix();
        var store = Ports.LogStore;
        await store.PutAsync(prefix + "before", Bytes("0"), None);
        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        await store.PutAsync(prefix + "b", Bytes("1"), None);
        await store.PutAsync(prefix[..^1] + "-beside", Bytes("x"), None);
        await store.PutAsync(prefix + "a", Bytes("2"), None);
        await store.PutAsync(prefix + "b", Bytes("3"), None);
        await store.DeleteAsync(prefix + "a", None);

        // Started after those writes: it catches up on them, then follows the next.
        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, prefix, from))
        {
            await watched.WaitForAsync(c => c.Count >= 4, "the changes since the revision");
            await store.PutAsync(prefix + "c", Bytes("4"), None);
            await watched.WaitForAsync(c => c.Count >= 5, "a change after the watch started");
        }

        var changes = watched.Changes;
        Assert.That(changes.Select(c => (c.IsDelete ? "-" : "+") + c.Key[prefix.Length..]), Is.EqualTo(new[] { "+b", "+a", "+b", "-a", "+c" }));
        Assert.That(changes.Where(c => !c.IsDelete).Select(c => Text(c.Value)), Is.EqualTo(new[] { "1", "2", "3", "4" }));
        Assert.That(changes[0].ModRevision, Is.EqualTo(from), "from the revision asked");
        Assert.That(changes.Select(c => c.ModRevision), Is.Ordered.Ascending.And.Unique);
        Assert.That(changes[2].Version, Is.EqualTo(2), "the second put of a key");
        Assert.That(changes[3].Value, Is.Empty, "a deletion carries no value");
    }

    [Test]
    public async Task The_keys_of_one_transaction_come_at_one_revision_in_one_hand_over()
    {
        var prefix = NewPrefix();
        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, prefix, from))
        {
            var append = new LogAppend(Unique("g"), 1, Bytes("entry"), [(prefix + "grant-1", Bytes("g1")), (prefix + "grant-2", Bytes("g2"))], [], 0);
            Assert.That((await Ports.LogStore.TryAppendAsync(append, None)).Written, Is.True);
            await watched.WaitForAsync(c => c.Count >= 2, "both keys of the transaction");
        }

        Assert.That(watched.HandOvers, Has.Count.EqualTo(1));
        Assert.That(watched.Changes.Select(c => c.Key), Is.EqualTo(new[] { prefix + "grant-1", prefix + "grant-2" }));
        Assert.That(watched.Changes.Select(c => c.ModRevision).Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_watch_from_a_compacted_revision_is_told_the_oldest_kept_and_goes_on_from_it()
    {
        var prefix = NewPrefix();
        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        await Ports.LogStore.PutAsync(prefix + "a", Bytes("lost"), None);
        await Ports.LogStore.PutAsync(prefix + "b", Bytes("kept"), None);
        var compacted = await Ports.CompactAsync();

        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, prefix, from))
        {
            await watched.WaitForAsync(c => c.Any(x => x.Key == prefix + "b"), "the change at the revision compacted to");
            await Ports.LogStore.PutAsync(prefix + "c", Bytes("later"), None);
            await watched.WaitForAsync(c => c.Any(x => x.Key == prefix + "c"), "a change after the compaction");
        }

        Assert.That(watched.Compactions, Is.EqualTo(new[] { (compacted, 0) }), "told once, before any change");
        Assert.That(watched.Changes.Select(c => c.Key[prefix.Length..]), Is.EqualTo(new[] { "b", "c" }), "from the oldest revision kept on");
        Assert.That(watched.Changes[0].ModRevision, Is.EqualTo(compacted));
    }

    [Test]
    public async Task A_watch_disposed_hands_over_nothing_more()
    {
        var prefix = NewPrefix();
        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        var stopped = new WatchedChanges();
        var going = new WatchedChanges();
        await using (going.Start(Ports.Watches, prefix, from))
        {
            await using (stopped.Start(Ports.Watches, prefix, from))
            {
                await Ports.LogStore.PutAsync(prefix + "a", Bytes("1"), None);
                await stopped.WaitForAsync(c => c.Count == 1, "the first change");
            }

            await Ports.LogStore.PutAsync(prefix + "b", Bytes("2"), None);
            await going.WaitForAsync(c => c.Count == 2, "both changes, on the watch still going");
        }

        Assert.That(stopped.Changes.Select(c => c.Key), Is.EqualTo(new[] { prefix + "a" }));
    }

    [Test]
    public async Task A_watch_of_a_single_key_follows_it_and_what_extends_its_name()
    {
        // The session watches a group's genesis as a prefix: a key that merely starts with it is seen too.
        var group = Unique("g");
        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, MeshKeys.Group(group), from))
        {
            Assert.That(await Ports.LogStore.TryAppendAsync(group, 0, Bytes("genesis"), [], None), Is.True);
            await Ports.LogStore.PutAsync(MeshKeys.Group(group[..^1]), Bytes("shorter"), None);
            await Ports.LogStore.PutAsync(MeshKeys.Group(group + "x"), Bytes("longer"), None);
            await watched.WaitForAsync(c => c.Any(x => x.Key == MeshKeys.Group(group + "x")), "the longer name, written last");
        }

        Assert.That(watched.Changes.Select(c => c.Key), Is.EqualTo(new[] { MeshKeys.Group(group), MeshKeys.Group(group + "x") }));
    }
}

[Category("Unit")]
public sealed class InMemoryWatchesContract : WatchesContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdWatchesContract : WatchesContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
