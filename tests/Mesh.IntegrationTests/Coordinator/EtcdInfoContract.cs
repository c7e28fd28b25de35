using Mesh.Coordinator;
using Mesh.Coordinator.Groups;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="Mesh.Coordinator.Etcd.IEtcdInfo"/> must do; run against the in-memory twin and
/// against real etcd.</summary>
public abstract class EtcdInfoContract : PortContract
{
    [Test]
    public async Task The_revision_moves_by_one_for_each_write_and_not_for_a_read_or_a_write_that_changes_nothing()
    {
        var group = Unique("r");
        var store = Ports.LogStore;
        var before = await Ports.Info.CurrentRevisionAsync(None);

        await store.PutAsync(MeshKeys.LogEntry(group, 1), Bytes("one"), None);
        var grants = new[] { (MeshKeys.Grant(group, "p", 1), Bytes("g1")), (MeshKeys.Grant(group, "q", 1), Bytes("g2")) };
        Assert.That((await store.TryAppendAsync(new LogAppend(group, 2, Bytes("two"), grants, [], 0), None)).Written, Is.True);
        Assert.That(await Ports.Info.CurrentRevisionAsync(None), Is.EqualTo(before + 2), "one revision for a put, one for a transaction of three keys");

        await store.GetAsync(MeshKeys.LogEntry(group, 1), None);
        await store.ListAsync(MeshKeys.LogPrefix(group), 10, None);
        Assert.That(await store.TryAppendAsync(group, 1, Bytes("rival"), [], None), Is.False);
        await store.DeleteAsync(MeshKeys.LogEntry(group, 99), None);
        Assert.That(await Ports.Info.CurrentRevisionAsync(None), Is.EqualTo(before + 2), "reads, a refused append, a delete of nothing");
        Assert.That(await Ports.Info.CheckReachableAsync(TimeSpan.FromSeconds(5), None), Is.EqualTo(before + 2), "the reachability check answers it too");
    }

    [Test]
    public async Task The_cluster_id_is_sixteen_hex_digits_the_same_at_every_answer()
    {
        await Ports.Info.CheckReachableAsync(TimeSpan.FromSeconds(5), None);
        var id = Ports.Info.ClusterId;
        Assert.That(id, Does.Match("^[0-9a-f]{16}$"));

        await Ports.LogStore.PutAsync(MeshKeys.LogEntry(Unique("c"), 1), Bytes("x"), None);
        await Ports.Info.CurrentRevisionAsync(None);
        Assert.That(Ports.Info.ClusterId, Is.EqualTo(id));
        Assert.That(Ports.Info.Describe, Is.Not.Empty);
    }
}

[Category("Unit")]
public sealed class InMemoryEtcdInfoContract : EtcdInfoContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdEtcdInfoContract : EtcdInfoContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
