using Mesh.Coordinator;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.Membership;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="IMemberDirectory"/> must do; run against the in-memory twin and against real etcd.</summary>
public abstract class MemberDirectoryContract : PortContract
{
    /// <summary>A well-formed member record (its signature is the session's business, not the directory's).</summary>
    internal static MemberRecord Member(string group, string peerId, string name = "amy") =>
        new(peerId, name, new string('k', 40), new string('s', 44), "tcp://127.0.0.1:1", 1) { Group = group };

    [Test]
    public async Task The_members_listed_are_the_well_formed_records_of_the_group_and_a_watch_from_after_the_list_misses_nothing()
    {
        var group = Unique("m");
        var store = Ports.LogStore;
        await store.PutAsync(MeshKeys.Member(group, "p2"), Member(group, "p2", "bo").ToBytes(), None);
        await store.PutAsync(MeshKeys.Member(group, "p1"), Member(group, "p1").ToBytes(), None);
        await store.PutAsync(MeshKeys.Member(group, "junk"), Bytes("{not a record"), None);
        await store.PutAsync(MeshKeys.Member(group, "huge"), Member(group, "huge", new string('n', GroupDirectory.MaxValueBytes)).ToBytes(), None);
        await store.PutAsync(MeshKeys.Member(group + "x", "p3"), Member(group + "x", "p3").ToBytes(), None);

        var (members, revision) = await Ports.Directory.ListMembersAsync(group, None);
        Assert.That(members.Select(m => m.PeerId), Is.EqualTo(new[] { "p1", "p2" }), "in key order; junk and records beyond any real size skipped");
        Assert.That(members[1].Name, Is.EqualTo("bo"));
        Assert.That(revision, Is.EqualTo(await Ports.Info.CurrentRevisionAsync(None)));

        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, MeshKeys.MembersPrefix(group), revision + 1))
        {
            await store.PutAsync(MeshKeys.Member(group, "p4"), Member(group, "p4", "cy").ToBytes(), None);
            await store.DeleteAsync(MeshKeys.Member(group, "p1"), None);
            await watched.WaitForAsync(c => c.Count >= 2, "the change after the list");
        }

        var changes = GroupDirectory.ToMemberChanges(group, watched.Changes).ToList();
        Assert.That(changes.Select(c => (c.PeerId, c.Record?.Name)), Is.EqualTo(new[] { ("p4", (string?)"cy"), ("p1", null) }));
    }
}

[Category("Unit")]
public sealed class InMemoryMemberDirectoryContract : MemberDirectoryContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdMemberDirectoryContract : MemberDirectoryContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
