using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>History keys that hold a sender's burst (one key, one signature, many messages), with real etcd and peers:
/// read by joiners, sweeps and <c>mesh history</c> as the messages they hold, each once, in the group's order; a burst key
/// whose name and contents disagree costs that key alone.</summary>
public sealed class BurstKeyTests : EtcdFixture
{
    /// <summary>Repacks <paramref name="group"/>'s one-message keys into burst keys, as a sender that writes bursts does:
    /// consecutive messages of one sender and run, sealed under one signature, become one key named for the last of them,
    /// and their own keys go, in one transaction per burst. Returns how many keys the bursts replaced.</summary>
    private async Task<(int Bursts, int Messages)> RepackAsync(string group)
    {
        using var etcd = new EtcdConnection([Etcd.Url]);
        var store = new EtcdHistoryStore(etcd);
        var keys = new List<HistoryEntry>();
        await store.ReadInKeyOrderAsync(group, page =>
        {
            keys.AddRange(page);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        var runs = new List<List<(HistoryEntry Key, SealedEnvelope Parsed)>>();
        foreach (var key in keys)
        {
            var parsed = EnvelopeCodec.TryParse(key.Value)!;
            var run = runs.Count > 0 ? runs[^1] : null;
            if (run is not null && run[^1].Parsed is var last && last.PeerId == parsed.PeerId && last.Epoch == parsed.Epoch
                && last.Seq + 1 == parsed.Seq && last.Signature.AsSpan().SequenceEqual(parsed.Signature))
            {
                run.Add((key, parsed));
            }
            else
            {
                runs.Add([(key, parsed)]);
            }
        }

        var bursts = 0;
        var messages = 0;
        var prefix = MeshKeys.HistoryPrefix(group);
        foreach (var run in runs.Where(r => r.Count >= 2))
        {
            var frames = BurstFrame.Pack([.. run.Select(m => m.Key.Value)]);
            Assert.That(frames, Has.Count.EqualTo(1));
            var txn = new TxnRequest();
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest
            {
                Key = ByteString.CopyFromUtf8(prefix + HistoryKey.Name([.. run.Select(m => m.Key.Name)])),
                Value = ByteString.CopyFrom(frames[0]),
            } });
            foreach (var (key, _) in run)
            {
                txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(prefix + key.Name) } });
            }

            Assert.That((await etcd.KV.TxnAsync(txn)).Succeeded, Is.True);
            bursts++;
            messages += run.Count;
        }

        return (bursts, messages);
    }

    [Test]
    public async Task Joiners_and_mesh_history_read_burst_keys_as_their_messages_once_in_order_and_a_forged_one_costs_itself()
    {
        var group = NewGroup("bursts");
        var (amy, bo) = await StartPairAsync(group, "amy", "bo");
        var texts = Enumerable.Range(0, 200).Select(i => $"b {i:D3}").ToList();
        await amy.SendManyAsync(texts.Take(100));
        await bo.SendManyAsync(texts.Skip(100));
        await MarkAsync(amy, group, bo);
        await Waiting.UntilAsync(() => Etcd.CountKeys(MeshKeys.HistoryPrefix(group)).Count == 201, Long, "every message in etcd");
        // The group's one order: history's, as a joiner and every view of history show it.
        var order = (await HistoryAsync(group, bo.Home)).Select(m => m.Str("text")!).ToList();
        Assert.That(order.Where(t => t.StartsWith("b ", StringComparison.Ordinal)).Order(StringComparer.Ordinal), Is.EqualTo(texts));

        var (bursts, packed) = await RepackAsync(group);
        Assert.That(bursts, Is.GreaterThan(0), "lines piped at once leave in bursts");
        var keys = Etcd.CountKeys(MeshKeys.HistoryPrefix(group)).Count;
        Assert.That(keys, Is.EqualTo(201 - packed + bursts));

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
