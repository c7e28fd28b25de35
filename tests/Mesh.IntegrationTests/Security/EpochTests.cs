using Mesh.Coordinator;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>Key epochs: removal and leave start a new key that the departed never receive; a member added later
/// receives every epoch's key; members chatting through a rotation lose nothing.</summary>
[Category("Integration")]
public sealed class EpochTests : EtcdFixture
{
    [Test]
    public async Task Removed_and_departed_members_read_nothing_sent_after_and_a_later_member_reads_everything()
    {
        var group = NewGroup("epochs");
        var ownerHome = NewHome("owner");
        var owner = StartPeer("owner", [group], ownerHome, "--private");
        await owner.WaitReadyAsync(group);
        var bo = StartInvited("bo", group, await InviteAsync(group, ownerHome));
        await bo.WaitReadyAsync(group, Long);
        var cy = StartInvited("cy", group, await InviteAsync(group, ownerHome));
        await cy.WaitReadyAsync(group, Long);
        await owner.SendAsync("e1-owner");
        await cy.SendAsync("e1-cy");
        foreach (var p in new[] { owner, bo, cy })
        {
            await p.WaitForAsync(x => x.Messages(group).Count == 2, Long, $"{p.Name}: epoch 1 messages");
        }

        await bo.SendAsync("/remove cy");
        await bo.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("only the creator")), Long, "bo may not remove");
        await bo.SendAsync("/admin cy");
        await bo.WaitForAsync(p => p.Of("error").Any(e => e.Str("message")!.Contains("only the creator of")), Long, "bo may not make admins");
        await owner.SendAsync("/admin bo");
        await owner.WaitForAsync(p => p.Of("info").Any(e => e.Str("message")!.Contains("bo may now remove members")), Long, "bo made an admin");
        await owner.SendAsync("/members");
        await owner.WaitForAsync(p => p.Of("members", group).Any(m => m.GetProperty("members").EnumerateArray().Any(x => x.Str("name") == "bo" && x.Str("role") == "admin")), Long, "bo is an admin");
        await owner.SendAsync("/remove cy");
        await cy.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "cy" && e.Str("reason") == "removed"), Long, "cy told it was removed");
        await bo.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "cy" && e.Str("reason") == "removed"), Long, "bo sees cy removed");
        await WaitEpochAsync(bo, group, 2);

        await owner.SendAsync("e2-owner");
        await bo.SendAsync("e2-bo");
        await owner.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "e2-bo"), Long, "owner reads bo in epoch 2");
        await bo.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "e2-owner"), Long, "bo reads owner in epoch 2");

        await bo.SendAsync("/leave");
        await owner.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("name") == "bo" && e.Str("reason") == "left"), Long, "owner sees bo leave");
        await WaitEpochAsync(owner, group, 3);
        await owner.SendAsync("e3-owner");
        await owner.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "e3-owner"), Long, "sent in epoch 3");

        var dee = StartInvited("dee", group, await InviteAsync(group, ownerHome));
        await dee.WaitReadyAsync(group, Long);
        var all = new[] { "e1-owner", "e1-cy", "e2-owner", "e2-bo", "e3-owner" };
        await dee.WaitForAsync(p => p.Messages(group).Count >= all.Length, Long, "dee reads the whole history");
        await MarkAsync(owner, group, dee);
        Assert.That(Counted(dee, group).Select(m => m.Str("text")), Is.EquivalentTo(all));

        // Live, the removed and departed saw nothing after; from history, their homes open nothing after either.
        Assert.That(cy.Messages(group).Select(m => m.Str("text")), Is.EquivalentTo(new[] { "e1-owner", "e1-cy" }));
        Assert.That(bo.Messages(group).Select(m => m.Str("text")), Does.Not.Contain("e3-owner"));
        var cyHistory = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", cy.Home);
        // By the texts shown, not the raw output: peer ids are hex, and "e2-" may be the end of one in a key.
        Assert.That(cyHistory.Stdout, Does.Contain("\"text\":\"e1-owner\"").And.Not.Contain("\"text\":\"e2-").And.Not.Contain("\"text\":\"e3-"));
        var boHistory = await MeshCli.RunAsync("history", group, "--json", "--etcd", Etcd.Url, "--home", bo.Home);
        Assert.That(boHistory.Stdout, Does.Contain("\"text\":\"e2-bo\"").And.Not.Contain("\"text\":\"e3-"));
        Assert.That(File.ReadAllText(Path.Combine(cy.Home, "keys", group + ".epochs")), Does.Not.Contain("\"2\""));
        Assert.That(File.ReadAllText(Path.Combine(bo.Home, "keys", group + ".epochs")), Does.Not.Contain("\"3\""));
        Assert.That(Etcd.CountKeys($"/mesh/keys/{group}/{cy.PeerId}/").Count, Is.EqualTo(1), "cy was granted epoch 1 only");

        // Every message written after the removal is sealed under a later epoch: the bytes cy could capture live are these.
        await Waiting.UntilAsync(() => Etcd.CountMessages(MeshKeys.HistoryPrefix(group)) == 6, Long, "the five and the marker in history");
        // Envelopes are binary: read as bytes, not through etcdctl's text.
        using var connection = new Mesh.Coordinator.Etcd.EtcdConnection([Etcd.Url]);
        var prefix = MeshKeys.HistoryPrefix(group);
        var stored = await connection.KV.RangeAsync(new Etcdserverpb.RangeRequest
        {
            Key = Google.Protobuf.ByteString.CopyFromUtf8(prefix),
            RangeEnd = Google.Protobuf.ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
        });
        var epochs = stored.Kvs.Select(kv => EnvelopeCodec.TryParse(kv.Value.Span)!.KeyEpoch).ToList();
        Assert.That(epochs.Order(), Is.EqualTo(new long[] { 1, 1, 2, 2, 3, 3 }), "and the final marker, in epoch 3");
    }

    [Test]
    public async Task Members_chatting_through_a_removal_lose_nothing_and_see_nothing_twice()
    {
        var group = NewGroup("through");
        var owner = StartPeer("owner", group);
        await owner.WaitReadyAsync(group);
        var peers = await StartOnlineAsync(group, "bo", "cy", "gone");
        var (bo, cy, gone) = (peers[0], peers[1], peers[2]);
        await owner.WaitForAsync(p => new[] { "bo", "cy", "gone" }.All(OnlineNames(p, group).Contains), Long, "owner sees everyone");
        var texts = Enumerable.Range(0, 300).Select(i => $"through-{i}").ToList();
        var sending = bo.SendManyAsync(texts.Take(150));
        await owner.SendAsync("/remove gone");
        await sending;
        await bo.SendManyAsync(texts.Skip(150));
        await bo.SendAsync("final-marker");
        foreach (var p in new[] { owner, cy })
        {
            await p.WaitForAsync(x => x.Messages(group).Any(m => m.Str("text") == "final-marker"), Long, $"{p.Name}: marker");
            var got = p.Messages(group).Select(m => m.Str("text")!).Where(t => t.StartsWith("through-", StringComparison.Ordinal)).ToList();
            Assert.That(got, Is.EqualTo(texts), $"{p.Name}: every message once, in order");
        }

        await WaitEpochAsync(cy, group, 2);
        await gone.WaitForAsync(p => p.Of("left", group).Any(e => e.Str("reason") == "removed"), Long, "gone told it was removed");
    }

    internal static async Task WaitEpochAsync(PeerProcess peer, string group, long epoch)
    {
        await Waiting.UntilAsync(async () =>
        {
            var before = peer.Of("members", group).Count;
            await peer.SendAsync("/members");
            await peer.WaitForAsync(p => p.Of("members", group).Count > before, TimeSpan.FromSeconds(10), "/members");
            return peer.Of("members", group)[^1].GetProperty("epoch").GetInt64() >= epoch;
        }, Long, $"{peer.Name} in epoch {epoch}");
    }
}
