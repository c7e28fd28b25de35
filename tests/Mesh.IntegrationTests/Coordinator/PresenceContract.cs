using Mesh.Coordinator;
using Mesh.Coordinator.Registry;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="IPresence"/> must do; run against the in-memory twin and against real etcd.</summary>
public abstract class PresenceContract : PortContract
{
    /// <summary>The shortest TTL a presence takes: a lost lease is noticed within a third of it.</summary>
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

    private async Task<(IPresence Presence, string Group)> StartAsync(params string[] peers)
    {
        var group = Unique("p");
        var presence = Ports.NewPresence(Ttl);
        await presence.StartAsync(MeshKeys.Peer(peers[0]), MemberDirectoryContract.Member("", peers[0]).ToBytes(), None);
        foreach (var peer in peers)
        {
            await presence.PutAsync(MeshKeys.Member(group, peer), MemberDirectoryContract.Member(group, peer).ToBytes(), None);
        }

        return (presence, group);
    }

    [Test]
    public async Task Its_keys_are_listed_and_watched_as_they_come_and_go()
    {
        var group = Unique("p");
        var (listed, revision) = await Ports.Directory.ListMembersAsync(group, None);
        Assert.That(listed, Is.Empty);
        var watched = new WatchedChanges();
        await using var presence = Ports.NewPresence(Ttl);
        await using (watched.Start(Ports.Watches, MeshKeys.MembersPrefix(group), revision + 1))
        {
            await presence.StartAsync(MeshKeys.Peer("amy"), MemberDirectoryContract.Member("", "amy").ToBytes(), None);
            await presence.PutAsync(MeshKeys.Member(group, "amy"), MemberDirectoryContract.Member(group, "amy").ToBytes(), None);
            await watched.WaitForAsync(c => c.Count == 1, "the member key put");
            Assert.That((await Ports.Directory.ListMembersAsync(group, None)).Members.Select(m => m.PeerId), Is.EqualTo(new[] { "amy" }));

            await presence.DeleteAsync(MeshKeys.Member(group, "amy"), None);
            await watched.WaitForAsync(c => c.Count == 2, "the member key deleted");
        }

        Assert.That(watched.Changes[0].Lease, Is.Not.Zero, "put under the lease");
        Assert.That(watched.Changes[1].IsDelete, Is.True);
        Assert.That((await Ports.Directory.ListMembersAsync(group, None)).Members, Is.Empty);
        Assert.That(await Ports.LogStore.GetAsync(MeshKeys.Peer("amy"), None), Is.Not.Null, "the rest of the presence stays");
        await presence.RevokeAsync(TimeSpan.FromSeconds(2));
    }

    [Test]
    public async Task A_revoke_removes_every_key_at_one_revision()
    {
        var (presence, group) = await StartAsync("bo", "cy");
        await using var _ = presence;
        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, MeshKeys.MembersPrefix(group), from))
        {
            await presence.RevokeAsync(TimeSpan.FromSeconds(2));
            await watched.WaitForAsync(c => c.Count == 2, "both member keys deleted");
        }

        Assert.That(watched.Changes.All(c => c.IsDelete));
        Assert.That(watched.Changes.Select(c => c.ModRevision).Distinct().Count(), Is.EqualTo(1));
        Assert.That((await Ports.Directory.ListMembersAsync(group, None)).Members, Is.Empty);
        Assert.That(await Ports.LogStore.GetAsync(MeshKeys.Peer("bo"), None), Is.Null);
    }

    [Test]
    public async Task Its_lease_is_renewed_and_when_lost_granted_again_with_every_key_written_again()
    {
        var states = new List<RegistrationState>();
        var renewed = 0;
        var (presence, group) = await StartAsync("dee", "eve");
        await using var _ = presence;
        presence.StateChanged += state =>
        {
            lock (states)
            {
                states.Add(state);
            }
        };
        presence.Renewed += () => Interlocked.Increment(ref renewed);
        await Waiting.UntilAsync(() => Volatile.Read(ref renewed) > 0, TimeSpan.FromSeconds(10), "a keep-alive answered");

        var from = await Ports.Info.CurrentRevisionAsync(None) + 1;
        var watched = new WatchedChanges();
        await using (watched.Start(Ports.Watches, MeshKeys.MembersPrefix(group), from))
        {
            await Ports.EndLeaseAsync(presence);
            await watched.WaitForAsync(c => c.Count(x => !x.IsDelete) == 2, "the member keys written again");
        }

        // Restored is said once the writes are answered, which may be a moment after the watch saw them.
        await Waiting.UntilAsync(() =>
        {
            lock (states)
            {
                return states.Contains(RegistrationState.Restored);
            }
        }, TimeSpan.FromSeconds(10), "the registration restored");
        lock (states)
        {
            Assert.That(states, Is.EqualTo(new[] { RegistrationState.Lost, RegistrationState.Restored }));
        }

        var changes = watched.Changes;
        Assert.That(changes.Take(2).All(c => c.IsDelete), "gone with the lease");
        Assert.That(changes.Skip(2).Select(c => c.Lease).Distinct().Single(), Is.Not.Zero, "written again under one new lease");
        Assert.That((await Ports.Directory.ListMembersAsync(group, None)).Members.Select(m => m.PeerId), Is.EqualTo(new[] { "dee", "eve" }));
        Assert.That(await Ports.LogStore.GetAsync(MeshKeys.Peer("dee"), None), Is.Not.Null);
        await presence.RevokeAsync(TimeSpan.FromSeconds(2));
    }
}

[Category("Unit")]
public sealed class InMemoryPresenceContract : PresenceContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdPresenceContract : PresenceContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
