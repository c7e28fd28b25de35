using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>History keys that hold a sender's burst (one key, one signature, many messages), with real etcd and peers:
/// written by senders, read by joiners and <c>mesh history</c> as the messages they hold, each once, in the group's
/// order; a burst key whose name and contents disagree costs that key alone.</summary>
public sealed class BurstKeyTests : EtcdFixture
{
    [Test]
    public async Task Bursts_are_stored_one_key_each_and_read_by_joiners_and_mesh_history_once_in_order_and_a_forged_key_costs_itself()
    {
        var group = NewGroup("bursts");
        var (amy, bo) = await StartPairAsync(group, "amy", "bo");
        var texts = Enumerable.Range(0, 200).Select(i => $"b {i:D3}").ToList();
        await amy.SendManyAsync(texts.Take(100));
        await bo.SendManyAsync(texts.Skip(100));
        await MarkAsync(amy, group, bo);
        await Waiting.UntilAsync(() => Etcd.CountMessages(MeshKeys.HistoryPrefix(group)) == 201, Long, "every message in etcd");
        // The group's one order: history's, as a joiner and every view of history show it.
        var order = (await HistoryAsync(group, bo.Home)).Select(m => m.Str("text")!).ToList();
        Assert.That(order.Where(t => t.StartsWith("b ", StringComparison.Ordinal)).Order(StringComparer.Ordinal), Is.EqualTo(texts));

        // Lines piped at once leave in bursts, each burst (up to 64 under one signature) one key.
        var keys = Etcd.CountKeys(MeshKeys.HistoryPrefix(group)).Count;
        TestContext.Out.WriteLine($"201 messages in {keys} keys");
        Assert.That(keys, Is.LessThan(201 / 2), "far fewer keys than messages");

        // Restarts read their local copies, which hold the keys etcd holds (the sender's its own, the receiver's each
        // frame taken whole as it came live): no count disagrees, nothing is read all again or put back.
        Assert.That(await amy.CloseAsync(), Is.EqualTo(0));
        Assert.That(await bo.CloseAsync(), Is.EqualTo(0));
        amy = StartPeer("amy", [group], amy.Home);
        bo = StartPeer("bo", [group], bo.Home);
        foreach (var peer in new[] { amy, bo })
        {
            await peer.WaitReadyAsync(group, Long);
            Assert.That(Texts(peer, group), Is.EqualTo(order), $"{peer.Name} from its copy");
            Assert.That(peer.Of("error").Select(e => e.Str("message")), Has.None.Contains("reading it all again"), $"{peer.Name}'s copy agrees with etcd");
        }

        // An etcd writer's burst key: real messages of amy's (copied) under a name that claims other numbers.
        var (_, value) = Etcd.Etcdctl("get", MeshKeys.HistoryPrefix(group), "--prefix", "--keys-only");
        var aBurst = value.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(k => k.Contains('~', StringComparison.Ordinal));
        var forged = aBurst[..aBurst.IndexOf('~', StringComparison.Ordinal)].Replace($"-{amy.PeerId}-", $"-{bo.PeerId}-", StringComparison.Ordinal) + "~002";
        using (var etcd = new EtcdConnection([Etcd.Url]))
        {
            var original = await etcd.KV.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(aBurst) });
            await etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(forged), Value = original.Kvs[0].Value });
        }

        var cy = StartPeer("cy", group);
        await cy.WaitReadyAsync(group, Long);
        Assert.That(Texts(cy, group), Is.EqualTo(order), "a joiner shows every message once, in the one order");
        Assert.That((await HistoryAsync(group, bo.Home)).Select(m => m.Str("text")), Is.EqualTo(order), "mesh history");

        // Live on: what comes after reads on as before, and a restarted member's sweep holds all.
        await MarkAsync(bo, group, amy, cy);
        Assert.That(Counted(cy, group).Select(m => m.Str("id")).Distinct().Count(), Is.EqualTo(Counted(cy, group).Count), "no message twice");
    }
}
