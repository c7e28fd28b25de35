using System.Text;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>A member turned hostile signs two different entries for one index, one applied by the members online, the
/// other by a member that was offline: the group ends on one log, the equivocation is told, and everyone chats.</summary>
[Category("Integration")]
public sealed class ForkTests : EtcdFixture
{
    [Test]
    public async Task Two_entries_signed_for_one_index_with_a_member_offline_end_on_one_log_and_the_equivocation_is_told()
    {
        var group = NewGroup("fork");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var peers = await StartOnlineAsync(group, "bo", "cy", "mallory");
        var (bo, cy, mallory) = (peers[0], peers[1], peers[2]);
        var (ownerHome, boHome, cyHome, malloryHome) = (owner.Home, bo.Home, cy.Home, mallory.Home);
        Assert.That(await cy.CloseAsync(), Is.EqualTo(0));
        Assert.That(await mallory.CloseAsync(), Is.EqualTo(0));

        // Mallory's home signs two rotations for the next index: X lands while the owner and bo are online.
        using var writer = new EtcdWriter(Etcd);
        var store = writer.Store;
        var log = await writer.LogAsync(group);
        GroupCommits.Commit x, y;
        using (var identity = IdentityStore.LoadOrCreate(malloryHome))
        {
            x = GroupCommits.Rotate(log, identity, null, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            y = GroupCommits.Rotate(log, identity, null, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1);
        }

        Assert.That(await store.TryAppendAsync(group, x.Index, x.Record, x.Grants, CancellationToken.None), Is.True);
        await EpochTests.WaitEpochAsync(owner, group, 2);
        await EpochTests.WaitEpochAsync(bo, group, 2);
        Assert.That(await owner.CloseAsync(), Is.EqualTo(0));
        Assert.That(await bo.CloseAsync(), Is.EqualTo(0));

        // Y in its place while they are away, with its grants; cy comes back and applies Y.
        await store.PutAsync(MeshKeys.LogEntry(group, y.Index), y.Record, CancellationToken.None);
        foreach (var (key, value) in y.Grants)
        {
            await store.PutAsync(key, value, CancellationToken.None);
        }

        cy = StartPeer("cy", [group], cyHome);
        await cy.WaitReadyAsync(group, Long);
        owner = StartPeer("owner", [group], ownerHome);
        bo = StartPeer("bo", [group], boHome);
        await owner.WaitReadyAsync(group, Long);
        await bo.WaitReadyAsync(group, Long);

        var lower = string.CompareOrdinal(LogEntry.TryParse(x.Record, out _)!.Hash, LogEntry.TryParse(y.Record, out _)!.Hash) < 0 ? x : y;
        var lowerText = Encoding.UTF8.GetString(lower.Record);
        foreach (var (peer, home) in new[] { (owner, ownerHome), (bo, boHome), (cy, cyHome) })
        {
            // The home's copy of the log holds each entry base64, one a line.
            await Waiting.UntilAsync(() => File.ReadAllLines(Path.Combine(home, "groups", group + ".log")).Contains(Convert.ToBase64String(lower.Record)),
                Long, $"{peer.Name} follows the lower hash");
        }

        await Waiting.UntilAsync(async () => Encoding.UTF8.GetString((await store.GetAsync(MeshKeys.LogEntry(group, x.Index), CancellationToken.None))!.Value.Value) == lowerText,
            Long, "etcd holds the entry every member follows");
        Assert.That(new[] { owner, bo, cy }.Count(p => p.Of("error").Any(e => e.Str("message")!.Contains("mallory signed two different entries"))), Is.GreaterThanOrEqualTo(1),
            "the equivocation is told");

        await owner.SendAsync("after the fork");
        await cy.SendAsync("cy after the fork");
        await cy.WaitForAsync(p => Texts(p, group).Contains("after the fork"), Long, "cy reads the owner");
        await bo.WaitForAsync(p => Texts(p, group).Contains("cy after the fork"), Long, "bo reads cy");
        await owner.WaitForAsync(p => Texts(p, group).Contains("cy after the fork"), Long, "the owner reads cy");
    }
}
